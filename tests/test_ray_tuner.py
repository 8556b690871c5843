"""The Ray side's searcher without starting Ray: Ray trial ids map to plans and outcomes."""

from __future__ import annotations

from search.ray_tuner import StudySearcher, trial_name


class FakeProposer:
    def __init__(self):
        self.asked, self.reports, self.told = 0, [], []

    def ask(self):
        self.asked += 1
        return type("Plan", (), {"number": self.asked - 1})()

    def report(self, number, result):
        self.reports.append((number, result["epochs"]))

    def tell(self, number, result):
        self.told.append((number, result))

    def record_error(self, number, message):
        pass


def test_the_searcher_hands_out_plans_and_relays_results_by_trial_number():
    proposer = FakeProposer()
    searcher = StudySearcher(proposer)
    assert (searcher.metric, searcher.mode) == ("accuracy", "max")  # what Tune checks each result for
    configs = {tid: searcher.suggest(tid) for tid in ("a", "b")}
    assert [c["plan"].number for c in configs.values()] == [0, 1]
    searcher.on_trial_result("b", {"epochs": 1, "accuracy": 0.5})
    searcher.on_trial_complete("a")  # never ran (an interrupted study): stays open, nothing told
    searcher.on_trial_complete("b", {"epochs": 1, "accuracy": 0.5})
    searcher.on_trial_complete("b", {"epochs": 1, "accuracy": 0.5})  # told once only
    searcher.on_trial_complete("a", None, error=True)  # its worker died
    assert proposer.reports == [(1, 1)] and proposer.told == [(1, {"epochs": 1, "accuracy": 0.5}), (0, None)]


def test_ray_trial_folders_are_named_by_optuna_number():
    trial = type("Trial", (), {"config": {"plan": type("Plan", (), {"number": 7})()}})()
    assert trial_name(trial) == "trial_00007"
