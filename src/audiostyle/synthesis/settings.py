"""The synthesis settings: one frozen dataclass, the single place where each setting is defined.

Every field of :class:`Settings` carries its type, default, valid range (or choices) and a
one-line help (:class:`Setting`, in the field's metadata). Everything that takes settings
derives from it: :func:`audiostyle.transfer` and :func:`audiostyle.texture` (keyword arguments
of the same names), jobs and their key (:mod:`audiostyle.runs.jobs`), manifest columns
(:mod:`audiostyle.runs.batch`), the grid, and the command line's flags (:mod:`audiostyle.cli`).
Adding a setting is adding a field here (and using it where it acts).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._util import did_you_mean
from ..errors import AudioStyleError
from ..extractors.defaults import REFINE_ITERATIONS, Plan
from ..io.audio import RATES
from .chunking import DEFAULT_CHUNK_SECONDS
from .domains import DOMAINS
from .optimiser import OPTIMIZERS

#: How a result starts: from the content (the paper's) or from seeded noise.
INITS = ("content", "noise")
#: ``init`` of a transfer that starts from a style model's output: ``model:NAME.style``.
MODEL_INIT = "model:"
#: Longest delay the rhythm term matches, in seconds (covers one bar at 120 bpm).
DEFAULT_RHYTHM_SECONDS = 2.0
#: Largest seed: seeds are 32-bit (torch takes 64, but a page's JavaScript holds integers
#: exactly only up to 2**53, and one seed must not have two spellings).
MAX_SEED = 2**32 - 1
#: Most iterations of any kind per chunk: more than any run needs (days at the fastest
#: iteration), so a typo of many digits is refused instead of running forever.
MAX_ITERATIONS = 10**6


@dataclass(frozen=True)
class Setting:
    """What a settings field is: its help, command-line flags and valid values.

    Attributes:
        help: one line (the command line adds the default).
        flags: command-line flags, the long one first.
        kind: ``int``, ``float``, ``str`` or ``bool``.
        low, high: valid range (inclusive; ``low_open``: ``low`` itself excluded).
        choices: the valid strings.
        prefix: text that, followed by more (a path), is valid too (``model:NAME.style``).
        metavar: the value's name in ``--help``.
        transfer_only: only a transfer has it (it is about the content; ``texture`` has none).
        keyed: part of a job's key even at its default value (the settings jobs have carried
            from the start); the others are left out of the key at their default, so adding a
            setting keeps the names of finished outputs.
        needs: the setting that must be non-zero for this one to act: while it is, this one
            is part of a job's key (at any value), and otherwise it is left out.
    """

    help: str
    flags: tuple[str, ...]
    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    prefix: str | None = None
    metavar: str | None = None
    transfer_only: bool = False
    keyed: bool = False
    needs: str | None = None

    def check(self, name: str, value: Any) -> Any:
        """``value`` converted to :attr:`kind` and checked; :class:`AudioStyleError` naming
        ``name`` (as `` `name` ``, which the command line turns into its flag) otherwise."""
        if value is None:
            return None
        if self.kind is bool:
            if not isinstance(value, bool):
                raise AudioStyleError(f"`{name}` must be True or False, got {value!r}")
            return value
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices
                                              and not self._prefixed(value)):
                raise AudioStyleError(f"`{name}` {value!r} is not one of "
                                      f"{', '.join(self.choices or ())}"
                                      + (f" or {self.prefix}…" if self.prefix else ""))
            return value
        number = _number(value, self.kind)
        if number is None:
            raise AudioStyleError(f"`{name}` must be {_article(self.kind)}, got {value!r}")
        if not self._in_range(number):
            raise AudioStyleError(f"`{name}` must be {self.range_text()}, got {value!r}")
        return number

    def _prefixed(self, value: str) -> bool:
        return bool(self.prefix) and value.startswith(self.prefix) and len(value) > len(
            self.prefix)

    def _in_range(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def range_text(self) -> str:
        """The valid range in words: ``at least 1``, ``a positive number``, ``between 0 and 1``."""
        if self.low is not None and self.high is not None:
            return f"between {_bound(self.low)} and {_bound(self.high)}"
        if self.low == 0 and self.low_open:
            return "a positive number"
        if self.low is not None:
            return f"{'more than' if self.low_open else 'at least'} {_bound(self.low)}"
        return _article(self.kind)

    def parse(self, name: str, text: Any) -> Any:
        """A value from text (a manifest cell, a command-line argument), checked."""
        if not isinstance(text, str):
            return self.check(name, text)
        text = text.strip()
        if self.kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise AudioStyleError(f"`{name}` = {text!r}: expected true or false")
            return text.lower() in ("true", "1", "yes")
        if self.kind is str:
            return self.check(name, text)
        try:
            value = self.kind(text)
        except ValueError:
            raise AudioStyleError(f"`{name}` = {text!r}: expected "
                                  f"{_article(self.kind)}") from None
        return self.check(name, value)


def _number(value: Any, kind: type) -> int | float | None:
    """``value`` as ``kind`` (``int`` or ``float``) when it is one exactly, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):  # (exactly, however large: its range decides)
        return value if kind is int else _finite(value)
    if kind is int:
        return int(value) if value.is_integer() else None
    return _finite(value)


def _finite(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _bound(value: float) -> str:
    """A range's end in a message: every digit of a whole number (``4294967295``, not
    ``4.29497e+09``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _article(kind: type) -> str:
    return {int: "an integer", float: "a finite number"}.get(kind, kind.__name__)


def _field(default: Any, help: str, *flags: str, kind: type, **options: Any) -> Any:
    return dataclasses.field(default=default,
                             metadata={"setting": Setting(help, flags, kind, **options)})


_RATE = {"low": RATES[0], "high": RATES[1], "metavar": "HZ"}


@dataclass(frozen=True)
class Settings:
    """How a result is synthesised: every setting of :func:`audiostyle.transfer` beyond the
    inputs, the extractor and where it runs. Values are checked when the object is made
    (:class:`AudioStyleError` naming the setting); ``None`` means "the extractor's" or "the
    input's" where the help says so."""

    working_sr: int | None = _field(
        None, "working (analysis) sample rate in Hz, for extractors that take one (default: "
        "the extractor's)", "--sr", kind=int, **_RATE)
    domain: str | None = _field(
        None, "what the optimiser changes: the spectrogram (then Griffin-Lim), the waveform, or "
        "the subband envelopes (the content's fine structure kept) (default: the extractor's)",
        "--domain", kind=str, choices=DOMAINS)
    init: str = _field(
        "content", "start from the content, from noise, or from a style model's output "
        "(model:NAME.style, see `audiostyle learn`: a few iterations polish it)", "--init",
        kind=str, choices=INITS, prefix=MODEL_INIT, metavar="content|noise|model:NAME.style",
        transfer_only=True, keyed=True)
    iterations: int | None = _field(
        None, "loss evaluations per chunk (default: the extractor's, see `audiostyle "
        "extractors`)", "--iterations", "-n", kind=int, low=1, high=MAX_ITERATIONS)
    refine_iterations: int | None = _field(
        None, "waveform iterations after the spectrogram domain's Griffin-Lim (default "
        f"{REFINE_ITERATIONS}; 0 = the paper's method)", "--refine", kind=int, low=0,
        high=MAX_ITERATIONS, metavar="N")
    content_weight: float = _field(
        0.0, "weight of a content loss; 0, the paper's, uses none", "--content-weight",
        kind=float, low=0, transfer_only=True, keyed=True)
    optimizer: str = _field(
        "lbfgs", "the optimiser", "--optimizer", kind=str, choices=OPTIMIZERS, keyed=True)
    learning_rate: float | None = _field(
        None, "Adam's learning rate (default: the domain's)", "--lr", kind=float, low=0,
        low_open=True)
    griffin_lim_iterations: int = _field(
        100, "Griffin-Lim iterations in the spectrogram domain", "--gl-iterations", kind=int, low=0,
        high=MAX_ITERATIONS, keyed=True)
    seed: int = _field(0, f"random seed, 0 to {MAX_SEED} (noise starts, Griffin-Lim's phase)",
                       "--seed", kind=int, low=0, high=MAX_SEED, keyed=True)
    output_sr: int | None = _field(
        None, "output sample rate in Hz (default: the content's; a texture's: the style's)",
        "--output-sr", kind=int, **_RATE)
    strength: float | None = _field(
        None, "0..1: how much style against content: 0 = the content unchanged, 0.5 = the "
        "style's statistics with the content's melody and timing held, 1 = statistics only "
        "(the paper's method) (default: the extractor's)", "--strength", kind=float, low=0,
        high=1, metavar="S", transfer_only=True)
    rhythm_weight: float = _field(
        0.0, "weight of the rhythm term, which matches the feature maps' autocorrelation so a "
        "periodic style keeps its pulse (shallow, shallow-multi); 0 leaves it out", "--rhythm",
        kind=float, low=0, metavar="W")
    rhythm_seconds: float = _field(
        DEFAULT_RHYTHM_SECONDS, "longest delay the rhythm term matches, in seconds",
        "--rhythm-seconds", kind=float, low=0, low_open=True, metavar="S",
        needs="rhythm_weight")
    chunk_seconds: float = _field(
        DEFAULT_CHUNK_SECONDS, "longest chunk of one channel, in seconds; less uses less "
        "memory", "--chunk-seconds", kind=float, low=0, low_open=True, metavar="S")
    mono: bool = _field(
        False, "downmix: a one-channel result (default: the content's channels; a "
        "texture's: the style's)", "--mono", kind=bool)

    def __post_init__(self) -> None:
        for name, setting in describe():
            object.__setattr__(self, name, setting.check(name, getattr(self, name)))

    @classmethod
    def of(cls, settings: Settings | Mapping[str, Any] | None = None, **values: Any) -> Settings:
        """Settings from ``settings`` (an instance or a mapping of field names) with
        ``values`` replacing some; an unknown name is an :class:`AudioStyleError`."""
        base = dict(settings or {}) if not isinstance(settings, Settings) else settings.as_dict()
        merged = {**base, **values}
        for name in merged:
            if name not in FIELDS:
                raise AudioStyleError(f"unknown synthesis setting {name!r}."
                                      f"{did_you_mean(name, FIELDS)} Settings: "
                                      f"{', '.join(FIELDS)}")
        return cls(**merged)

    def as_dict(self) -> dict[str, Any]:
        """Every field by name."""
        return {name: getattr(self, name) for name in FIELDS}

    def settled(self, plan: Plan) -> Settings:
        """These settings with what they leave to the extractor taken from ``plan`` (its
        :class:`~audiostyle.extractors.defaults.Plan` for this kind of synthesis): the domain,
        the iterations, the refinement (only the spectrogram domain has one: ``plan.refine``
        unless given) and, for a transfer, the strength. What :func:`audiostyle.transfer` and
        :func:`audiostyle.texture` run, and what the studio's jobs ask for."""
        domain = self.domain or plan.domain
        refine = 0
        if domain == "spectrogram":
            refine = plan.refine if self.refine_iterations is None else self.refine_iterations
        return dataclasses.replace(
            self, domain=domain,
            iterations=plan.iterations if self.iterations is None else self.iterations,
            refine_iterations=refine,
            strength=plan.strength if self.strength is None else self.strength)

    def key_items(self) -> tuple[tuple[str, Any], ...]:
        """What a job's key holds of these settings, as sorted ``(name, value)`` pairs: the
        :attr:`Setting.keyed` fields, those that act because another is on
        (:attr:`Setting.needs`), and the others where they differ from their default."""
        items = []
        for name, setting in describe():
            value = getattr(self, name)
            if setting.needs:
                if getattr(self, setting.needs):
                    items.append((name, value))
            elif value is not None and (setting.keyed or value != DEFAULTS[name]):
                items.append((name, value))
        return tuple(sorted(items))

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their default."""
        return {name: value for name, value in self.as_dict().items()
                if value != DEFAULTS[name]}


def describe() -> Iterator[tuple[str, Setting]]:
    """``(field name, Setting)`` of every setting, in declaration order."""
    for item in dataclasses.fields(Settings):
        yield item.name, item.metadata["setting"]


#: Every setting's name, in declaration order.
FIELDS = tuple(item.name for item in dataclasses.fields(Settings))
#: Every setting's default.
DEFAULTS = {item.name: item.default for item in dataclasses.fields(Settings)}
