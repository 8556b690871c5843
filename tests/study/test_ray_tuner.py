"""The Ray side's searcher without starting Ray: Ray trial ids map to plans and outcomes."""

from __future__ import annotations

from search.study.ray_tuner import StudySearcher, trial_name


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


def test_pareto_asha_keeps_every_non_dominated_trial_and_stops_dominated_ones():
    from blocks import NetSpec, StageSpec, complexity
    from search.config.study import StudyConfig
    from search.config.resources import Placement
    from search.config.schedule import ScheduleConfig
    from search.training.plan import make_plan
    from search.study.ray_tuner import ParetoASHA

    scheduler = ParetoASHA(("accuracy", "macs"), image_size=8, max_t=10, grace_period=1)
    widths = {"big": 64, "mid": 48, "cheap": 8, "bad": 72}

    def result(name, accuracy, epochs=1):
        spec = NetSpec((StageSpec(1, widths[name]),), stem_width=8, in_channels=1)
        trial = type("Trial", (), {"trial_id": name, "config": {"plan": make_plan(StudyConfig(), Placement(1, 0, 2), 0, spec)}})()
        return scheduler.on_trial_result(None, trial, {"epochs": epochs, "accuracy": accuracy}), complexity(spec, 8).macs

    assert result("big", 0.9)[0] == "CONTINUE"
    assert result("mid", 0.8)[0] == "CONTINUE"  # less accurate but cheaper: on the front
    assert result("cheap", 0.3)[0] == "CONTINUE"  # ASHA on accuracy alone would stop it here
    assert result("bad", 0.2)[0] == "STOP"  # dearer and worse than all: dominated
    assert result("big", 0.95, epochs=2)[0] == "CONTINUE"  # between rungs: nothing to decide


def replayed(settings: dict, accuracies: list[float]) -> list[bool]:
    """The decisions of a study's scheduler, driven without Ray, on trials reporting ``accuracies``
    at epoch 1 in turn."""
    from blocks import NetSpec, StageSpec
    from search.config.study import StudyConfig
    from search.config.resources import Placement
    from search.config.schedule import ScheduleConfig
    from search.training.plan import make_plan
    from search.study.ray_tuner import ReplayedScheduler
    from search.config.train import TrainConfig

    config = StudyConfig(train=TrainConfig(epochs=9), schedule=ScheduleConfig(**settings))
    scheduler = ReplayedScheduler(config, image_size=8)
    decisions = []
    for number, accuracy in enumerate(accuracies):
        scheduler.add(make_plan(config, Placement(1, 0, 2), number, NetSpec((StageSpec(1, 8),), stem_width=8, in_channels=1)))
        decisions.append(scheduler.continues(number, {"epochs": 1, "accuracy": accuracy}))
    return decisions


def test_a_replayed_asha_stops_a_trial_below_its_rungs_cutoff():
    assert replayed({"grace_period": 1, "reduction_factor": 2}, [0.5, 0.6, 0.2, 0.9]) == [True, True, False, True]


def test_a_replayed_fifo_never_stops():
    assert replayed({"scheduler": "fifo"}, [0.5, 0.6, 0.2, 0.1]) == [True] * 4


def test_a_replayed_asha_has_no_first_rung_before_its_grace_period():
    assert replayed({"grace_period": 2, "reduction_factor": 2}, [0.5, 0.6, 0.2, 0.1]) == [True] * 4
