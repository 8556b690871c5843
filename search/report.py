"""``python -m search.report STUDY [STUDY ...]``: the grouping table, the Pareto front and the top
trials as tables, and ``report.md`` with PNG plots in ``<first study>/report/``."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from . import plots, results
from .analysis import best, edf, grouping_key, grouping_table, pareto
from .cli import OneLineParser, require_int, run_main

FRONT_COLUMNS = ["trial", "accuracy", "test_accuracy", "macs", "params", "max_cardinality", "flop_reduction",
                 "speedup_vs_dense"]
TOP_COLUMNS = FRONT_COLUMNS + ["param_reduction", "latency_ms", "dense_latency_ms"]


def parse(argv: list[str] | None):
    p = OneLineParser(prog="python -m search.report", description=__doc__)
    p.add_argument("studies", nargs="+", help="study folders, or study names under --results-dir")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--out", help="where report.md and the plots go (default <first study>/report)")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md", help="format of the printed tables")
    p.add_argument("--top", type=int, default=10, help="how many top trials (default 10)")
    return p.parse_args(argv)


def load_studies(names: list[str], results_dir: str) -> tuple[pd.DataFrame, Path]:
    folders = [results.study_path(n, results_dir) for n in names]
    df = results.load_many(folders)
    if (df["state"] == "COMPLETE").sum() == 0:
        raise ValueError(f"{', '.join(names)}: no complete trial yet; report again once a trial has finished")
    return df, folders[0]


def tables(df: pd.DataFrame, front: pd.DataFrame, top: int) -> dict[str, pd.DataFrame]:
    several = df["study"].nunique() > 1
    extra = ["study"] if several else []
    return {
        "Accuracy against grouping": grouping_table(df),
        "Pareto front: accuracy against MACs": front[extra + FRONT_COLUMNS],
        f"Top {top} trials": best(df, top)[extra + TOP_COLUMNS],
    }


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


def write_report(df: pd.DataFrame, named: dict[str, pd.DataFrame], images: list[Path], out: Path) -> Path:
    studies = ", ".join(sorted(df["study"].unique()))
    lines = [f"# Report: {studies}", "",
             f"{len(df)} trials: " + ", ".join(f"{n} {s.lower()}" for s, n in df["state"].value_counts().items()), ""]
    for title, table in named.items():
        lines += [f"## {title}", "", table.to_markdown(index=False, floatfmt=".4g"), ""]
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in images]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return run_main("python -m search.report", lambda: report(args))


def report(args) -> int:
    require_int("--top", args.top, 1)
    df, first = load_studies(args.studies, args.results_dir)
    front = pareto(df, ("accuracy", "macs"))
    named = tables(df, front, args.top)
    for title, table in named.items():
        print(f"## {title}\n\n{render(table, args.format)}\n")
    out = Path(args.out) if args.out else first / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot write the report to {out}: {err.strerror}") from None
    path = write_report(df, named, figures(df, front, out), out)
    print(f"wrote {path} and its plots", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
