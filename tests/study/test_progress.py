"""The progress line: off a terminal, a line at the first result, then at most one every 30 s."""

from __future__ import annotations

import io

from search.study.progress import Progress


def test_the_first_result_is_shown_at_once_off_a_terminal():
    out = io.StringIO()
    progress = Progress(4, out)
    progress.started()
    progress.result(None)  # a report without accuracy (a failure): the first line, nothing best yet
    progress.result(0.5)  # the first result: shown although a line was shown an instant ago
    progress.result(0.7)  # within 30 s of the last line: not shown
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("best accuracy -") and lines[1].endswith("best accuracy 0.5000")
    assert lines[1].startswith("[00:00] trials 0/4")
