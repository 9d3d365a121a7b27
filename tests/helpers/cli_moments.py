"""A prelude for CLI tests in a child: a chosen function says when it starts, and can be held
there, so that a test presses Ctrl-C at that moment.

The environment names the moment: ``AUDIOSTYLE_TEST_AT=module:Qualified.name`` (the function as
the code calls it), ``AUDIOSTYLE_TEST_CALL=k`` (from its k-th call, default 1) and
``AUDIOSTYLE_TEST_HOLDS=n`` (n calls from there are held, default 1; 0 only announces). Each of
those calls writes ``at NAME (call k)`` on stderr, then (when held) waits until the file
``AUDIOSTYLE_TEST_RELEASE`` exists before it runs. A Ctrl-C while it waits lands where it would
land at the start of that function's work: a first one raises ``KeyboardInterrupt`` out of the
wait, unless the CLI only notes it (while writing); a second one ends the process.
"""

from __future__ import annotations

import functools
import importlib
import os
import time

_where, _, _name = os.environ["AUDIOSTYLE_TEST_AT"].partition(":")
_first = int(os.environ.get("AUDIOSTYLE_TEST_CALL", "1"))
_holds = int(os.environ.get("AUDIOSTYLE_TEST_HOLDS", "1"))
_release = os.environ.get("AUDIOSTYLE_TEST_RELEASE", "")
_owner = importlib.import_module(_where)
*_path, _attribute = _name.split(".")
for _part in _path:
    _owner = getattr(_owner, _part)
_original = getattr(_owner, _attribute)
_calls = 0


@functools.wraps(_original)
def _announced(*args, **kwargs):
    global _calls
    _calls += 1
    if _calls >= _first:
        os.write(2, f"at {_name} (call {_calls})\n".encode())
        deadline = time.monotonic() + 120
        while (_calls < _first + _holds and not os.path.exists(_release)
               and time.monotonic() < deadline):
            time.sleep(0.01)
    return _original(*args, **kwargs)


setattr(_owner, _attribute, _announced)
