"""``python -m search.refine STUDY [STUDY ...]``: refine a design space from its trials, as
RegNet does: along each sampled dimension, the trials' error binned by value (median and its
95% bootstrap interval, at matched fidelity as ``search.report`` compares them), the bins that
are clearly worse dropped, and the rest written as a refined space (``--out``, JSON) that
``python -m search.run --space refined:PATH`` searches; a plot of the trends beside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import spaces
from blocks import NetSpec
from blocks.net import complexity
from search.cli import OneLineParser, run_main
from search.core import io
from search.report import load_studies
from search.results import plots
from search.config.study import StudyConfig
from search.results.refine import narrowed, refined_ranges, trends, vetoed
from search.study import refusals

MAX_IMAGE_SIZE = 1025  # image sizes tried when finding a study's from its networks' MACs


def parse(argv: list[str] | None):
    p = OneLineParser(prog="python -m search.refine", description=__doc__.split("\n\n")[0])
    p.add_argument("studies", nargs="+", help="study folders, or study names under --results-dir, of one space")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--at-epoch", type=int, help="compare the trials at this epoch (default: as search.report)")
    p.add_argument("--out", help="the refined space's file (default <first study>/refined.json; never overwritten)")
    return p.parse_args(argv)


def base_of(df) -> tuple[str, dict]:
    """The one built-in space the trials were sampled from (a refined space's own base), and the
    ranges a refined space's file had already narrowed it to."""
    names = set(df["space"].dropna())
    if len(names) != 1:
        raise ValueError(f"the studies searched {', '.join(sorted(names)) or 'no known space'}: refine one space at a time")
    (name,) = names
    space = spaces.get(name)
    if isinstance(space, spaces.refined.RefinedSpace) and name.startswith(spaces.refined.PREFIX):
        data = json.loads(Path(name[len(spaces.refined.PREFIX):]).read_text())
        return spaces.as_stored(data["base"]), data["ranges"]
    if name not in spaces.SPACES:
        raise ValueError(f"space {name!r} is not a built-in one: a refined space narrows a built-in space")
    return name, {}


def study_budget(folder: Path, df) -> spaces.Budget | None:
    """The budget the study's networks were fitted to: its saved bounds, at the image size at
    which a trial's network has the MACs recorded for it (None: a bare table, no study.json)."""
    saved, rows = folder / "study.json", df.dropna(subset=["arch", "macs"])
    if not saved.exists() or rows.empty:
        return None
    config = StudyConfig.from_json(saved.read_text())
    row = rows.iloc[0]
    spec = NetSpec.from_json(row["arch"])
    # sizes whose stem outputs agree share MACs (223 and 224 px): the largest, of the network's own stem
    size = next((s for s in range(MAX_IMAGE_SIZE, 0, -1)
                 if spaces.Budget(image_size=s).stem == spec.stem and _macs(spec, s) == int(row["macs"])), None)
    if size is None:
        raise ValueError(f"{folder}: no image size gives trial {row['trial']} its recorded MACs: the table was edited")
    return config.budget(size, spec.in_channels, spec.num_classes)


def _macs(spec: NetSpec, size: int) -> int | None:
    try:
        return complexity(spec, size).macs
    except ValueError:  # too small an image for the network's strides
        return None


def designs_kept(space: spaces.Space, folder: Path, df) -> dict[str, set]:
    """What the hand designs take in ``space`` at the study's budget; nothing, said on stderr,
    for a space that cannot state a design as its parameters or a study whose budget is unknown."""
    if not isinstance(space, spaces.ReplayableSpace):
        print("the space cannot state the hand designs as its parameters: refined without keeping them", file=sys.stderr)
        return {}
    budget = study_budget(folder, df)
    if budget is None:
        print(f"{folder} has no study.json or no network column: refined without keeping the hand designs",
              file=sys.stderr)
        return {}
    return spaces.designs.design_values(space, budget)


def refine(args) -> int:
    refusals.check_results_dir(args.results_dir)
    df, which, first = load_studies(args.studies, args.results_dir, args.at_epoch)
    out = Path(args.out) if args.out else first / "refined.json"
    if out.exists() or io.file_in_the_way(out.parent):
        raise ValueError(f"--out {out}: {'it exists' if out.exists() else 'its folder is a file'}; give a new path")
    (base, earlier), table = base_of(df), trends(df)
    keep = designs_kept(spaces.get(base), first, df)
    print(f"Trials compared {which}.\n")
    print(table.drop(columns="values").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ranges = narrowed(earlier, refined_ranges(table, keep))  # a refined study's file keeps what it had narrowed
    if kept := vetoed(table, keep):
        print(f"\nclearly worse, but kept because a hand design takes it: {', '.join(kept)}")
    refined = {"base": base, "ranges": ranges, "from": [str(s) for s in args.studies], "compared": which}
    spaces.refined.load_data(refined, spaces.SPACES, str(out), spaces.STORED)  # what is written is a space that loads
    out.parent.mkdir(parents=True, exist_ok=True)
    io.write_text_atomic(out, json.dumps(refined, indent=2) + "\n")
    image = plots.trends_plot(table, out.with_suffix(".png"))
    print(f"\n{len(ranges)} dimension(s) narrowed: {', '.join(ranges) or 'none (no bin is clearly worse)'}")
    print(f"wrote {out} (search it: python -m search.run --space refined:{out}) and {image}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from search.study import optuna_study

    optuna_study.quiet()
    return run_main("python -m search.refine", lambda: refine(args))


if __name__ == "__main__":
    sys.exit(main())
