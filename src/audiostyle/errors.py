"""The error types audiostyle raises.

User mistakes (a missing file, a bad setting, audio that cannot be analysed) raise
:class:`AudioStyleError`, a ``ValueError`` whose message names the offending value and the fix;
the CLI prints it as one line and exits with status 2. Failures of the computation itself (the
loss became NaN) raise :class:`SynthesisError`, and a file that could not be written (a full
disk) :class:`WriteError`: the CLI says "failed" and exits with status 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: How a message names a parameter: `name` (rendered as the name, or as the CLI's flag).
_PARAMETER = re.compile(r"`(\w+)`")


class AudioStyleError(ValueError):
    """A problem with what the user asked for, explained in one line.

    A message names the parameters it is about as `` `name` `` (the Python name: ``domain``,
    ``device``, ``output_sr``); ``str()`` shows the plain name, :meth:`naming` lets a front end
    show its own name for it (the CLI: ``--domain``, ``--device``, ``--output-sr``).
    """

    def __str__(self) -> str:
        return self.naming({})

    def naming(self, names: Mapping[str, str]) -> str:
        """The message with each parameter called ``names[parameter]`` (its own name if
        absent)."""
        message = str(self.args[0]) if self.args else ""
        return _PARAMETER.sub(lambda m: names.get(m[1], m[1]), message)


class SynthesisError(RuntimeError):
    """The optimisation could not continue (for example, the loss became NaN)."""


class WriteError(OSError):
    """A file could not be written (disk full, file too large, I/O error): a failure, not the
    user's mistake. The message names the file and says what was kept."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C inside a computation that has a usable result so far: :attr:`partial`."""

    def __init__(self, partial: object) -> None:
        super().__init__()
        self.partial = partial
