"""A prelude for CLI tests in a child: ``evaluate`` says when it scores an output (one line on
stderr, ``scoring NAME``), so that a test can tell whether a fault was found before scoring."""

from __future__ import annotations

import os

from audiostyle.evaluation import evaluator

_call = evaluator.Evaluator.__call__


def _announced(self, output, *args, **kwargs):
    os.write(2, f"scoring {getattr(output, 'name', output)}\n".encode(errors="replace"))
    return _call(self, output, *args, **kwargs)


evaluator.Evaluator.__call__ = _announced
