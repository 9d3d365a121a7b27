"""What a studio job asks for: checking a request field by field, and the extractor menu.

A job request is JSON (``POST /api/jobs``)::

    {"content": ID, "styles": [{"id": ID, "weight": 1.0}, ...], "extractor": "shallow",
     "options": {"filters": "512"}, "strength": 1.0, "preset": "default", "seed": 0,
     "iterations": null, "refine_iterations": null, "domain": null}

:func:`check_job` applies the same checks as :func:`audiostyle.transfer` (it builds the
extractor and checks every input's length with the API's own functions) and returns the job
as plain data with its iteration counts settled, or raises :class:`FieldErrors`: one message
per field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import extractors
from .. import weights as weight_store
from ..errors import AudioStyleError
from ..extractors import build_extractor, check_length
from ..io.audio import load_audio
from ..synthesis.domains import DOMAINS
from ..synthesis.stages import DEFAULT_REFINE_ITERATIONS
from .store import Store

#: Quality presets: a factor on the extractor's default iterations (and refinement).
PRESETS = {"preview": 0.25, "default": 1.0, "best": 2.0}


class FieldErrors(AudioStyleError):
    """A job request with bad fields: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def extractor_menu() -> list[dict[str, Any]]:
    """Each extractor: name, one-line description, domains, default iterations, options with
    their defaults, and its weights (name, state, whether the studio can install them)."""
    menu = []
    for name in extractors.available():
        cls = extractors.extractor_class(name)
        weights = None
        if name in weight_store.available():
            spec = weight_store.spec(name)
            weights = {"name": name, "state": weight_store.verify(name),
                       "installable": "PyPI" in spec.how_to_get, "how": spec.how_to_get}
        menu.append({
            "name": name,
            "description": (cls.__doc__ or "").strip().splitlines()[0].replace("``", ""),
            "default_domain": cls.default_domain,
            "domains": list(DOMAINS) if cls.default_domain == "spectrogram" else ["waveform"],
            "default_iterations": cls.default_iterations,
            "options": {k: _plain(v) for k, v in extractors.options(name).items()},
            "weights": weights,
        })
    return menu


def check_job(body: Any, store: Store) -> dict[str, Any]:
    """The job ``body`` asks for, checked (see the module docstring)."""
    if not isinstance(body, dict):
        raise FieldErrors({"request": "expected a JSON object"})
    errors: dict[str, str] = {}
    content = store.input(str(body.get("content", "")))
    if content is None:
        errors["content"] = "choose a content sound"
    styles, weights = [], []
    for item in body.get("styles") or []:
        found = store.input(str(item.get("id", ""))) if isinstance(item, dict) else None
        if found is None:
            errors["styles"] = "a style is not one of the uploaded sounds"
            break
        styles.append(found)
        weights.append(_number(item.get("weight", 1.0), "styles", errors, low=0.0))
    if not styles and "styles" not in errors:
        errors["styles"] = "choose at least one style sound"
    elif "styles" not in errors and not sum(weights) > 0:
        errors["styles"] = "style weights must be >= 0 with a positive sum"
    strength = _number(body.get("strength", 1.0), "strength", errors, low=0.0, high=1.0)
    seed = _integer(body.get("seed", 0), "seed", errors, low=0)
    preset = body.get("preset", "default")
    if preset not in PRESETS:
        errors["preset"] = f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}"
    iterations = _optional_integer(body.get("iterations"), "iterations", errors, low=1)
    refine = _optional_integer(body.get("refine_iterations"), "refine_iterations", errors,
                               low=0)
    name = body.get("extractor", "shallow")
    options = body.get("options") or {}
    net = None
    if not isinstance(options, dict) or not all(isinstance(v, (str, int, float))
                                                for v in options.values()):
        errors["options"] = "options must be an object of option: value"
    elif not isinstance(name, str) or name not in extractors.available():
        errors["extractor"] = f"unknown extractor; use one of {', '.join(extractors.available())}"
    else:
        options = {str(k): str(v) for k, v in options.items()}
        try:
            net = build_extractor(name, options)
        except AudioStyleError as exc:
            field = "options" if options and "option" in str(exc) else "extractor"
            errors[field] = str(exc)
    domain = body.get("domain") or None
    if net is not None:
        allowed = DOMAINS if net.spectrogram is not None else ("waveform",)
        if domain is not None and domain not in allowed:
            errors["domain"] = f"the {name} extractor optimises in: {', '.join(allowed)}"
        for sound, field in [(content, "content"), *((s, "styles") for s in styles)]:
            if sound is not None and field not in errors:
                problem = _length_problem(sound.info, net)
                if problem:
                    errors[field] = problem
        for sound in styles:
            if "styles" not in errors and not np.any(load_audio(sound.sound).samples):
                errors["styles"] = (f"{sound.info['name']}: all samples are zero: a silent "
                                    "style has no texture to take on")
    if errors:
        raise FieldErrors(errors)
    factor = PRESETS[preset]
    domain = domain or net.default_domain
    if iterations is None:
        iterations = max(1, round(factor * net.default_iterations))
    if refine is None:
        refine = round(factor * DEFAULT_REFINE_ITERATIONS) if domain == "spectrogram" else 0
    return {"content": content.id, "styles": [[s.id, w] for s, w in zip(styles, weights,
                                                                        strict=True)],
            "extractor": name, "options": options, "strength": strength, "seed": seed,
            "preset": preset, "domain": domain, "iterations": iterations,
            "refine_iterations": refine if domain == "spectrogram" else 0}


def planned_iterations(job: dict[str, Any]) -> int:
    """Iterations the job runs in all (per chunk)."""
    return job["iterations"] + job["refine_iterations"]


def _length_problem(info: dict[str, Any], net: extractors.Extractor) -> str | None:
    samples = max(1, round(info["seconds"] * net.sample_rate))
    try:
        check_length(samples, net, info["name"])
    except AudioStyleError as exc:
        return str(exc)
    return None


def _number(value: Any, field: str, errors: dict[str, str], *, low: float,
            high: float = math.inf) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not low <= number <= high:
        span = f"between {low:g} and {high:g}" if high < math.inf else f">= {low:g}"
        errors.setdefault(field, f"must be a number {span}, got {value!r}")
        return low
    return number


def _integer(value: Any, field: str, errors: dict[str, str], *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.setdefault(field, f"must be a whole number >= {low}, got {value!r}")
        return low
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low:
        errors.setdefault(field, f"must be a whole number >= {low}, got {value!r}")
        return low
    return number


def _optional_integer(value: Any, field: str, errors: dict[str, str], *, low: int) -> int | None:
    return None if value in (None, "") else _integer(value, field, errors, low=low)


def _plain(value: Any) -> Any:
    """An option's default as JSON (tuples as comma-separated text)."""
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return value
