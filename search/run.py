"""`python -m search.run`: placeholder until the study runner lands (issue 4)."""

import sys


def main() -> int:
    print(
        "search.run: the study runner is not built yet (issue 4). Nothing was trained and no "
        "results were written. What exists now: `blocks` (specs, builder, complexity).",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
