"""Feature extractors: the contract (:mod:`.base`), the kinds of statistics they are matched by
(:mod:`.statistics`), the registry (:mod:`.registry`) and one module per feature model."""

from .base import Extractor, check_length, shortest_input
from .registry import (
    REGISTRY,
    available,
    build_extractor,
    extractor_class,
    get_extractor,
    options,
    sketch_extractor,
)

__all__ = ["REGISTRY", "Extractor", "available", "build_extractor", "check_length",
           "extractor_class", "get_extractor", "options", "shortest_input", "sketch_extractor"]
