"""A loss as a set of named, weighted terms (the style per layer, rhythm, content, structure,
headroom), each of which can be read on its own.

A term is any callable that maps a :class:`Signal` — the sound being optimised, as the terms
see it — to a scalar, or to None where it does not apply (the headroom term has nothing to
say in the spectrogram domain, which has no waveform). :class:`LossTerms` sums
``weight × term`` in the order the terms were given and keeps each weighted value of the last
evaluation (:attr:`LossTerms.last`), so progress displays, snapshots and tests can see what
each term contributes. Adding a term is one module (the callable) and one line where the loss
is put together (:func:`audiostyle.synthesis.losses.transfer_loss`, or a domain's
:meth:`~audiostyle.synthesis.domains.Domain.terms`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from torch import Tensor

from ..extractors import Extractor


class Signal:
    """The sound being optimised, as loss terms see it.

    Args:
        inputs: what :meth:`Extractor.analyse` makes of the sound (the optimised
            log-magnitude itself in the spectrogram domain).
        wave: the waveform ``(batch, time)`` at the extractor's rate, where the domain has
            one (None in the spectrogram domain).
        extractor: the extractor whose feature maps the style and content terms read.
    """

    def __init__(self, inputs: Tensor, wave: Tensor | None = None, *,
                 extractor: Extractor | None = None) -> None:
        self.inputs = inputs
        self.wave = wave
        self.extractor = extractor
        self._features: dict[str, Tensor] | None = None

    @property
    def features(self) -> dict[str, Tensor]:
        """The extractor's feature maps of :attr:`inputs`, computed once, on first use."""
        if self._features is None:
            if self.extractor is None:
                raise RuntimeError("Signal: feature maps need the extractor")
            self._features = self.extractor.features(self.inputs)
        return self._features


#: A term: the signal → a scalar (summed over the batch), or None where it does not apply.
Term = Callable[[Signal], Tensor | None]


@dataclass(frozen=True)
class Weighted:
    """One term of a :class:`LossTerms`: its name, weight and the callable."""

    name: str
    weight: float
    term: Term


class LossTerms:
    """``Σ weight · term(signal)`` over named terms, in order.

    Terms of weight 0 are left out when the loss is made (so they cost nothing). Calling the
    loss returns the sum; :attr:`last` then holds each term's weighted value as a float.
    """

    def __init__(self, terms: Iterable[Weighted]) -> None:
        self.terms = tuple(t for t in terms if t.weight != 0)
        names = [t.name for t in self.terms]
        if len(set(names)) != len(names):
            raise ValueError(f"loss terms must have distinct names, got {names}")
        #: Each term's weighted value at the last evaluation, by name, in order.
        self.last: dict[str, float] = {}

    def values(self, signal: Signal) -> dict[str, Tensor]:
        """Each applicable term's weighted value, by name, in order."""
        out = {}
        for item in self.terms:
            value = item.term(signal)
            if value is not None:
                out[item.name] = item.weight * value
        return out

    def __call__(self, signal: Signal) -> Tensor:
        values = self.values(signal)
        self.last = {name: float(value.detach()) for name, value in values.items()}
        return sum(values.values())

    @property
    def names(self) -> tuple[str, ...]:
        """The terms' names, in order."""
        return tuple(t.name for t in self.terms)


__all__ = ["LossTerms", "Signal", "Term", "Weighted"]
