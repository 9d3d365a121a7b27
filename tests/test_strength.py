"""The strength schedule: the target's style share and the structure term's weight."""

from __future__ import annotations

import itertools

import pytest

import audiostyle
from audiostyle.extractors import available
from audiostyle.extractors.registry import extractor_class
from audiostyle.synthesis.strength import FULL_STYLE, schedule


def test_schedule_moves_the_share_then_fades_the_structure_term():
    assert schedule(0.0, 2.0) == (0.0, 2.0)
    assert schedule(FULL_STYLE / 2, 2.0) == (0.5, 2.0)
    assert schedule(FULL_STYLE, 2.0) == (1.0, 2.0)
    share, weight = schedule((1 + FULL_STYLE) / 2, 2.0)
    assert share == 1.0 and weight == pytest.approx(0.5)  # ((1 − s)/(1 − 0.5))² = 1/4
    assert schedule(1.0, 2.0) == (1.0, 0.0)
    points = [schedule(i / 20, 1.0) for i in range(21)]
    shares, weights = zip(*points, strict=True)
    assert all(a <= b for a, b in itertools.pairwise(shares))
    assert all(a >= b for a, b in itertools.pairwise(weights))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_strength_outside_zero_to_one_is_refused(bad):
    with pytest.raises(audiostyle.AudioStyleError, match="strength"):
        audiostyle.Settings(strength=bad)
    assert audiostyle.Settings().strength is None  # the extractor's default


def test_every_extractor_has_a_default_on_the_knob():
    for name in available():
        defaults = extractor_class(name).defaults
        assert 0 < defaults.transfer.strength <= 1 and defaults.structure_weight > 0
