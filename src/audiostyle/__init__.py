"""audiostyle: audio style transfer and sound texture synthesis.

>>> import audiostyle
>>> sorted(audiostyle.extractors.available())[:1]
['shallow']

Main entry points: :func:`transfer` (content + style → new sound), :func:`texture` (style →
new texture of any length), :class:`Settings` (every synthesis setting, with its default and
valid range), :func:`learn` (style sounds → a :class:`StyleModel`, which applies that style to
any sound faster than real time, or streams it), :func:`evaluate` (metrics of a result), the
extractors in :mod:`audiostyle.extractors`, and the audio helpers :func:`load_audio` /
:func:`save_audio`.
"""

from . import extractors
from .errors import AudioStyleError, SynthesisError
from .evaluation.evaluator import Evaluation, evaluate
from .evaluation.statistics_snr import statistics_snr, stats
from .extractors import Extractor, get_extractor
from .io.audio import Audio, load_audio, save_audio
from .models import StyleModel, learn
from .synthesis.pipeline import Result, texture, transfer
from .synthesis.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "AudioStyleError",
    "Evaluation",
    "Extractor",
    "Result",
    "Settings",
    "StyleModel",
    "SynthesisError",
    "evaluate",
    "extractors",
    "get_extractor",
    "learn",
    "load_audio",
    "save_audio",
    "statistics_snr",
    "stats",
    "texture",
    "transfer",
]
