"""``python -m search.report STUDY [STUDY ...]``: the grouping table, the Pareto front, the top
trials and (with --repeats) each configuration over its seeds, as tables, and ``report.md`` with
PNG plots in ``<first study>/report/``.

Trials are compared at matched fidelity: at ``--at-epoch K`` every trial that reached epoch K
counts, with its validation accuracy at K (default: the deepest epoch that at least half of the
trials reached). A study written before epochs were recorded is compared by its complete trials."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from search.results import plots, schema
from search.results import tables as results
from search.results.headline import headline
from search.results.analysis import at_epoch, best, by_configuration, default_epoch, edf, grouping_key, grouping_table, pareto
from search.cli import OneLineParser, run_main
from search.study import refusals
from search.core.errors import require_int

def parse(argv: list[str] | None):
    p = OneLineParser(prog="python -m search.report", description=__doc__)
    p.add_argument("studies", nargs="+", help="study folders, or study names under --results-dir")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--out", help="where report.md and the plots go (default <first study>/report)")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md", help="format of the printed tables")
    p.add_argument("--top", type=int, default=10, help="how many top trials (default 10)")
    p.add_argument("--at-epoch", type=int, help="compare every trial that reached this epoch, at it "
                                                "(default: the deepest epoch at least half of the trials reached)")
    p.add_argument("--baselines", help="a search.baselines study: the headline sets the first study's retrained "
                                       "finalists (search.retrain) against its hand designs, over seeds")
    return p.parse_args(argv)


def load_studies(names: list[str], results_dir: str, epoch: int | None) -> tuple[pd.DataFrame, str, Path]:
    """The trials to compare (at matched fidelity where epochs were recorded), a line that says
    which, and the first study's folder."""
    folders = [results.study_path(n, results_dir) for n in names]
    df = results.load_many(folders)
    epochs = pd.concat([results.load_epochs(f).assign(study=f.name) for f in folders], ignore_index=True)
    if epochs.empty:
        if epoch is not None:
            raise ValueError(f"--at-epoch {epoch}: {', '.join(names)} recorded no epochs (written by an older version)")
        if (df["state"] == "COMPLETE").sum() == 0:
            raise ValueError(f"{', '.join(names)}: no complete trial yet; report again once a trial has finished")
        return df, f"{(df['state'] == 'COMPLETE').sum()} complete trials at their final epoch (no epochs table)", folders[0]
    deepest = int(epochs["epoch"].max())
    if epoch is not None and epoch > deepest:
        raise ValueError(f"--at-epoch {epoch}: no trial reached epoch {epoch} (the deepest reached {deepest})")
    epoch = epoch or default_epoch(epochs)
    at = at_epoch(df, epochs, epoch)
    return at, f"at epoch {epoch}: {len(at)} of {len(df)} trials reached it, each compared at that epoch", folders[0]


def tables(df: pd.DataFrame, front: pd.DataFrame, top: int) -> dict[str, pd.DataFrame]:
    extra = ["study"] if df["study"].nunique() > 1 else []
    grouping = grouping_table(df)
    grouping["note"] = grouping["trials"].map(lambda n: "fewer than 3 trials" if n < 3 else "")
    named = {
        "Accuracy against grouping": grouping,
        "Pareto front: accuracy against MACs": front[extra + schema.view("front")],
        f"Top {top} trials": best(df, top)[extra + schema.view("top")],
    }
    designs = by_configuration(df)
    if len(designs) and (designs["runs"] > 1).any():
        named["Configurations over seeds (mean, std, 95% CI)"] = designs
    return named


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=1)
    return table.to_markdown(index=False, floatfmt=".4g")


def figures(df: pd.DataFrame, front: pd.DataFrame, out: Path) -> list[Path]:
    done = df[df["state"] == "COMPLETE"]
    group = grouping_key(df)
    paths = [
        plots.accuracy_vs_macs(df, front, group, out / "accuracy_vs_macs.png"),
        plots.accuracy_vs_param_reduction(done, group, out / "accuracy_vs_param_reduction.png"),
        plots.flop_reduction_vs_speedup(done, group, out / "flop_reduction_vs_speedup.png"),
    ]
    by = "study" if df["study"].nunique() > 1 else "space" if df["space"].nunique() > 1 else None
    if by:
        paths.append(plots.edf_plot(edf(df, by=by), by, out / "edf.png", "Error EDF per design space"))
        curves = edf(df, by=by, normalize="params")
        paths.append(plots.edf_plot(curves, by, out / "edf_params_normalised.png",
                                    "Error EDF, normalised to equal parameter distributions"))
    return paths


def write_report(df: pd.DataFrame, which: str, named: dict[str, pd.DataFrame], images: list[Path], out: Path,
                 lead: str = "") -> Path:
    studies = ", ".join(sorted(df["study"].unique()))
    states = df["state_final"] if "state_final" in df else df["state"]
    lines = [f"# Report: {studies}", "", *([lead, ""] if lead else []), f"Trials compared {which}.", "",
             f"{len(df)} trials: " + ", ".join(f"{n} {s.lower()}" for s, n in states.value_counts().items()), ""]
    for title, table in named.items():
        lines += [f"## {title}", "", table.to_markdown(index=False, floatfmt=".4g"), ""]
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in images]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def designs_run(study: Path) -> dict[int, str]:
    """The study's trials that ran a hand design (``--start-from``): trial number -> design."""
    df = results.load(study)
    if "design" not in df:
        return {}
    ran = df[df["design"].notna() & (df["design"] != "")]
    return {int(t): str(d) for t, d in zip(ran["trial"], ran["design"])}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return run_main("python -m search.report", lambda: report(args))


def report(args) -> int:
    refusals.check_results_dir(args.results_dir)
    require_int("--top", args.top, 1)
    if args.at_epoch is not None:
        require_int("--at-epoch", args.at_epoch, 1)
    df, which, first = load_studies(args.studies, args.results_dir, args.at_epoch)
    front = pareto(df, ("accuracy", "macs"))
    named, sentence = tables(df, front, args.top), ""
    if args.baselines:
        table, sentence = headline(results.load_table(first, "retrain"),
                                   results.load(results.study_path(args.baselines, args.results_dir)), designs_run(first))
        named = {"Headline: retrained finalists against hand designs, over seeds": table, **named}
        print(f"{sentence}\n")
    print(f"Trials compared {which}.\n")
    for title, table in named.items():
        print(f"## {title}\n\n{render(table, args.format)}\n")
    out = Path(args.out) if args.out else first / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot write the report to {out}: {err.strerror}") from None
    path = write_report(df, which, named, figures(df, front, out), out, sentence)
    print(f"wrote {path} and its plots", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
