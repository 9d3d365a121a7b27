"""McDermott & Simoncelli's sound texture statistics: the extractor (:mod:`.extractor`) and the
statistics it computes from the auditory model's subbands and envelopes
(:mod:`.texture_statistics`)."""

from .extractor import CLASSES, ENV_C_OFFSETS, PRESETS, McDermottExtractor

__all__ = ["CLASSES", "ENV_C_OFFSETS", "PRESETS", "McDermottExtractor"]
