"""What every command line of the project shares: argument errors and expected failures as one
line on stderr with exit code 2, and the checks of numbers given by the user."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from search.core.errors import one_line


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end with one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")






def run_main(prog: str, body: Callable[[], int]) -> int:
    """``body()``'s exit code; a ValueError (the project's "bad input") or an OSError (a folder
    that is a file, a full disk, a permission) is one line and exit 2, a Ctrl-C one line and 130."""
    try:
        return body()
    except ValueError as err:
        print(f"{prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"{prog}: error: {err.strerror or one_line(err)}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # e.g. while the data loads or Ray stops; a running study handles its own
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


