"""The extractor registry: names → classes, their options, and building an instance.

Each extractor lives in its own module and is listed once in :data:`REGISTRY`
(name → ``module:Class`` under :mod:`audiostyle.extractors`); modules are imported only when
their extractor is used.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any

import torch

from .._util import did_you_mean
from ..errors import AudioStyleError
from ..io.audio import check_rate
from .base import Extractor

#: Extractor name → "module:Class" under this package.
REGISTRY: dict[str, str] = {
    "mcdermott": "mcdermott:McDermottExtractor",
    "shallow": "shallow:ShallowExtractor",
    "shallow-multi": "shallow_multi:ShallowMultiExtractor",
    "soundnet": "soundnet:SoundNetExtractor",
    "vgg19": "vgg19:Vgg19Extractor",
    "vgg-mtt": "vgg_mtt:VggMttExtractor",
}


#: The extractor a synthesis uses when none is named (the API, the command line, batches, the
#: studio's first choice): the best frontier on the evaluation set's held-out pairs under the
#: independent judge (mean gain 12.1 dB against the shallow net's 8.3, at about twice its
#: time; benchmarks/RESULTS.md, *Evaluation set*; docs/research.md, *The default extractor*).
DEFAULT_EXTRACTOR = "mcdermott"


def available() -> list[str]:
    """Names of all extractors."""
    return sorted(REGISTRY)


def extractor_class(name: str) -> type[Extractor]:
    """The class registered as ``name``; suggests the closest name for a typo."""
    if name not in REGISTRY:
        raise AudioStyleError(
            f"Unknown extractor {name!r}.{did_you_mean(name, REGISTRY)} "
            f"Available: {', '.join(available())}"
        )
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


def options(name: str) -> dict[str, Any]:
    """The keyword options of extractor ``name`` with their defaults (None: not given; for
    the random nets' drawn-only options, what the drawn net then takes is the class's
    :attr:`~.Extractor.drawn_defaults`)."""
    signature = inspect.signature(extractor_class(name).__init__)
    return {
        p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY
    }


def option_defaults(name: str) -> dict[str, tuple[Any, bool]]:
    """Each keyword option of extractor ``name`` as a user reads it: ``(the value it takes
    when not given, whether it acts with form=drawn only)`` — for the random nets' drawn-only
    options (default None) the value is the class's :attr:`~.Extractor.drawn_defaults`."""
    drawn = extractor_class(name).drawn_defaults
    return {key: (drawn[key], True) if value is None and key in drawn else (value, False)
            for key, value in options(name).items()}


def get_extractor(name: str, **kwargs: Any) -> Extractor:
    """Build extractor ``name`` with keyword options (see :func:`options`).

    Option values may be strings (from the command line); they are converted to the type of
    the value the option takes when not given (:func:`option_defaults`).
    """
    defaults = {key: value for key, (value, _) in option_defaults(name).items()}
    converted = {}
    for key, value in kwargs.items():
        if key not in defaults:
            raise AudioStyleError(
                f"Extractor {name!r} has no option {key!r}.{did_you_mean(key, defaults)} "
                f"Options: {', '.join(defaults) or 'none'}"
            )
        converted[key] = _convert(name, key, value, defaults[key])
    if "sample_rate" in converted:  # before anything is sized by it
        check_rate(converted["sample_rate"], f"extractor {name!r}: working rate")
    try:
        return extractor_class(name)(**converted)
    except AudioStyleError:
        raise
    except (ValueError, RuntimeError, TypeError) as exc:  # a value the extractor cannot use
        given = ", ".join(f"{k}={v!r}" for k, v in converted.items()) or "defaults"
        raise AudioStyleError(
            f"Extractor {name!r} cannot be built with {given}: {str(exc).splitlines()[0]}"
        ) from None


def _convert(name: str, key: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    kind = type(default)
    try:
        if kind is bool:
            if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(value)
            return value.lower() in {"true", "1", "yes"}
        if kind in (tuple, list):
            return kind(type(default[0])(v) for v in value.split(",")) if default else kind(
                value.split(","))
        return kind(value)
    except ValueError:
        raise AudioStyleError(
            f"Extractor {name!r}: option {key}={value!r} is not a valid {kind.__name__}"
        ) from None


def build_extractor(
    extractor: str | Extractor,
    options: dict[str, Any] | None = None,
    working_sr: int | None = None,
) -> Extractor:
    """An extractor instance from a name and options (or the instance itself)."""
    if isinstance(extractor, Extractor):
        if options or working_sr:
            raise AudioStyleError("options and working_sr apply to an extractor given by name")
        return extractor
    options = dict(options or {})
    if working_sr is not None:
        options["sample_rate"] = check_rate(working_sr, "working rate")
    net = get_extractor(extractor, **options)
    check_rate(net.sample_rate, f"extractor {net.name!r}: working rate")
    return net


def sketch_extractor(name: str, options: dict[str, Any] | None = None,
                     working_sr: int | None = None) -> Extractor:
    """Extractor ``name`` with ``options``, checked and sized exactly as :func:`build_extractor`
    does but built on PyTorch's ``meta`` device: its rates, domains and shortest input
    (:func:`~.base.check_length`) without memory for its weights, so that checking a request
    (the studio's) for 20000 random filters allocates none of them. Not for computing. Weights
    read from a file are still read (pretrained extractors: tens of MB); sketches are made one
    at a time."""
    with _SKETCHING, torch.device("meta"):
        return build_extractor(name, options, working_sr)


#: One sketch at a time (a server checks requests in several threads).
_SKETCHING = threading.Lock()


__all__ = ["DEFAULT_EXTRACTOR", "REGISTRY", "available", "build_extractor", "extractor_class",
           "get_extractor", "option_defaults", "options", "sketch_extractor"]
