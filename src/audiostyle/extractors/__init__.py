"""Feature extractors: the contract (:mod:`.base`, checked by :mod:`.contract`), the kinds of
statistics they are matched by (:mod:`.statistics`), their synthesis defaults
(:mod:`.defaults`), the registry (:mod:`.registry`) and one module per feature model."""

from .base import Extractor, check_length, shortest_input
from .defaults import ExtractorDefaults, ModelPlan, Plan
from .registry import (
    DEFAULT_EXTRACTOR,
    REGISTRY,
    available,
    build_extractor,
    extractor_class,
    get_extractor,
    option_defaults,
    options,
    sketch_extractor,
)

__all__ = ["DEFAULT_EXTRACTOR", "REGISTRY", "Extractor", "ExtractorDefaults", "ModelPlan", "Plan",
           "available", "build_extractor", "check_length", "extractor_class", "get_extractor",
           "option_defaults", "options", "shortest_input", "sketch_extractor"]
