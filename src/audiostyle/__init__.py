"""audiostyle: audio style transfer and sound texture synthesis.

>>> import audiostyle
>>> sorted(audiostyle.extractors.available())[:1]
['shallow']

Main entry points: :func:`transfer` (content + style → new sound), :func:`texture` (style →
new texture of any length), :func:`evaluate` (metrics of a result), the extractors in
:mod:`audiostyle.extractors`, and the audio helpers :func:`load_audio` / :func:`save_audio`.
"""

from . import extractors
from .audio import Audio, load_audio, save_audio
from .errors import AudioStyleError, SynthesisError
from .evaluation import Evaluation, evaluate
from .extractors import Extractor, get_extractor
from .stats import statistics_snr, stats
from .transfer import Result, texture, transfer

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "AudioStyleError",
    "Evaluation",
    "Extractor",
    "Result",
    "SynthesisError",
    "evaluate",
    "extractors",
    "get_extractor",
    "load_audio",
    "save_audio",
    "statistics_snr",
    "stats",
    "texture",
    "transfer",
]
