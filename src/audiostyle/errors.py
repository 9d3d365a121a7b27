"""The error types audiostyle raises.

User mistakes (a missing file, a bad option value, audio that cannot be analysed) raise
:class:`AudioStyleError`, a ``ValueError`` whose message names the offending value and the fix;
the CLI prints it as one line and exits with status 2. Failures of the computation itself (the
loss became NaN) raise :class:`SynthesisError`.
"""

from __future__ import annotations


class AudioStyleError(ValueError):
    """A problem with what the user asked for, explained in one line."""


class SynthesisError(RuntimeError):
    """The optimisation could not continue (for example, the loss became NaN)."""
