"""Old import path of :mod:`audiostyle.io.audio` (``from audiostyle.audio import ...``)."""

from .io.audio import Audio, AudioLike, load_audio, resample, save_audio

__all__ = ["Audio", "AudioLike", "load_audio", "resample", "save_audio"]
