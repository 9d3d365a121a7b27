"""A prelude for CLI tests in a child: phase recovery says when it starts (one line on stderr,
``phase recovery started``), so that a test can press Ctrl-C during it."""

from __future__ import annotations

import os

from audiostyle.synthesis import domains

_griffin_lim = domains.griffin_lim


def _announced(*args, **kwargs):
    os.write(2, b"phase recovery started\n")
    return _griffin_lim(*args, **kwargs)


domains.griffin_lim = _announced
