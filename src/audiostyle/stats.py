"""Old import path of :mod:`audiostyle.evaluation.style_match` (``from audiostyle.stats import
stats``)."""

from .evaluation.style_match import statistics_snr, stats

__all__ = ["statistics_snr", "stats"]
