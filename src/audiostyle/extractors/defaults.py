"""What a synthesis takes from its extractor where the user says nothing: one frozen value.

Every extractor declares one :class:`ExtractorDefaults` (``Extractor.defaults``), chosen on the
trade-off frontier (benchmarks/RESULTS.md, *frontier*; the reasoning in docs/research.md). It
has two views, one per kind of synthesis — :attr:`~ExtractorDefaults.texture` (from noise) and
:attr:`~ExtractorDefaults.transfer` (from a content) — each a :class:`Plan`: the domain, the
iterations, the waveform refinement after a spectrogram-domain stage, and (transfers only) the
style strength; the two constants of the structure term that holds a transfer's content; and
the :class:`ModelPlan` of a style model learned with it (:mod:`audiostyle.models`). The API, the
command line, the studio (its presets scale a plan), job keys and benchmarks all read this one
value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Waveform iterations after a spectrogram-domain stage (Griffin-Lim then this refinement):
#: the written sound's match rises from about −13 dB to −32 dB on the demo (docs/research.md,
#: *Spectrogram, then waveform*).
REFINE_ITERATIONS = 40


@dataclass(frozen=True)
class Plan:
    """How one kind of synthesis runs by default.

    Attributes:
        domain: what the optimiser changes (``spectrogram``, ``waveform`` or ``subbands``).
        iterations: loss evaluations in that domain (per chunk).
        strength: style strength of a transfer (0 … 1, see :mod:`audiostyle.synthesis.strength`);
            None for a texture, which has no content.
        refine: waveform iterations after a ``spectrogram`` stage (other domains have none).
    """

    domain: str
    iterations: int
    strength: float | None = None
    refine: int = REFINE_ITERATIONS

    @property
    def refine_iterations(self) -> int:
        """The refinement this plan runs: :attr:`refine` after a spectrogram stage, else 0."""
        return self.refine if self.domain == "spectrogram" else 0

    def describe(self) -> str:
        """The plan in words: ``subbands domain, 100 iterations, strength 0.5``."""
        words = [f"{self.domain} domain", f"{self.iterations} iterations"]
        if self.refine_iterations:
            words.append(f"then {self.refine_iterations} waveform iterations")
        if self.strength is not None:
            words.append(f"strength {self.strength:g}")
        return ", ".join(words)

    def scaled(self, factor: float) -> Plan:
        """This plan with ``factor`` × its iterations and refinement (at least 1 iteration):
        the studio's quality presets."""
        return dataclasses.replace(self, iterations=max(1, round(factor * self.iterations)),
                                   refine=round(factor * self.refine))


@dataclass(frozen=True)
class ModelPlan:
    """How a style model (:func:`audiostyle.models.learn`) weighs its loss by default.

    A transfer's structure weight balances the style loss only along its optimiser's path from
    the content, which stops while the content is still held; a model is trained towards the
    loss's optimum over many contents, where the same weight lets the style take the content
    (its onsets first), so a model's weight is its own (docs/research.md, *Style models*).

    Attributes:
        strength: the model's style strength (0 … 1, as a transfer's).
        structure_weight: full weight of the structure term in a model's loss
            (:func:`audiostyle.synthesis.strength.schedule` scales it by the strength).
    """

    strength: float
    structure_weight: float


@dataclass(frozen=True)
class ExtractorDefaults:
    """An extractor's synthesis defaults (see the module).

    Attributes:
        texture: the plan of a texture (from noise).
        transfer: the plan of a transfer (from the content), with its strength.
        structure_weight: full weight of the structure term against this extractor's style
            loss (:func:`audiostyle.synthesis.strength.schedule` scales it by the strength).
        loudness_slack_db: how far (dB) the result's loudness course may stray from the
            content's before the structure term counts it (less keeps pauses quieter).
        model: the plan of a style model learned with this extractor.
    """

    texture: Plan
    transfer: Plan
    model: ModelPlan
    structure_weight: float = 1.0
    loudness_slack_db: float = 10.0

    @classmethod
    def of(cls, domain: str, iterations: int, *, transfer_domain: str | None = None,
           transfer_iterations: int | None = None, strength: float = 0.5,
           structure_weight: float = 1.0, loudness_slack_db: float = 10.0,
           model: ModelPlan | None = None) -> ExtractorDefaults:
        """Defaults whose transfer plan is the texture's (``domain``, ``iterations``) unless
        ``transfer_domain`` / ``transfer_iterations`` say otherwise, and whose style models
        learn at the transfer's strength and structure weight unless ``model`` says
        otherwise."""
        return cls(
            texture=Plan(domain, iterations),
            transfer=Plan(transfer_domain or domain, transfer_iterations or iterations,
                          strength),
            model=model or ModelPlan(strength, structure_weight),
            structure_weight=structure_weight, loudness_slack_db=loudness_slack_db,
        )

    def plan(self, kind: str) -> Plan:
        """The plan of ``kind``: ``"transfer"`` or ``"texture"``."""
        if kind not in ("transfer", "texture"):
            raise ValueError(f"kind must be 'transfer' or 'texture', got {kind!r}")
        return self.transfer if kind == "transfer" else self.texture

    def key(self) -> dict[str, Any]:
        """What a transfer job's key holds of these defaults (the values of the settings a job
        leaves to its extractor), so that results made under other defaults are not taken
        for results made under these."""
        return {"domain": self.transfer.domain, "iterations": self.transfer.iterations,
                "strength": self.transfer.strength, "structure_weight": self.structure_weight,
                "loudness_slack_db": self.loudness_slack_db}


__all__ = ["REFINE_ITERATIONS", "ExtractorDefaults", "ModelPlan", "Plan"]
