"""The style strength: one knob from the content untouched (0) to the paper's result (1).

Two things set how far a transfer moves from its content: the share of the style in the target
statistics (the rest is the content's own statistics) and the weight of the structure term
(:mod:`.structure`), which holds the content's pitch classes, onsets and loudness while the
timbre changes. The strength moves them one after the other, so that every step of it adds
style and takes content (both axes move monotonically):

======================  ========================  ====================================
strength                style share of the target  structure term
======================  ========================  ====================================
0                       0 (nothing changes)        —
0 … :data:`FULL_STYLE`  rises linearly to 1        the extractor's full weight
:data:`FULL_STYLE` … 1  1                          falls as ``((1 − s) / (1 − FULL_STYLE))²``
1                       1                          0: the paper's method (statistics only)
======================  ========================  ====================================

Each extractor's defaults (:attr:`Extractor.defaults`, chosen on the trade-off frontier,
benchmarks/RESULTS.md) say how strong its default transfer is (``defaults.transfer.strength``)
and what the structure term's full weight is for its loss (``defaults.structure_weight``).
"""

from __future__ import annotations

#: Strength at which the target statistics become the style's alone.
FULL_STYLE = 0.5


def schedule(strength: float, structure_weight: float) -> tuple[float, float]:
    """``(style share of the target statistics, weight of the structure term)`` at
    ``strength`` (0 … 1) for an extractor whose full structure weight is ``structure_weight``."""
    if strength <= FULL_STYLE:
        return strength / FULL_STYLE, structure_weight
    return 1.0, structure_weight * ((1 - strength) / (1 - FULL_STYLE)) ** 2
