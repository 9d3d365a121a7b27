"""What SoundNet hears in a recording: its top ImageNet objects and Places scenes.

This is how the original release used the network (``extract_predictions.lua``), and the
simplest check that the port and the weights are right: a dog barking should give dogs, birds
song a forest or a marsh. The category lists ``objects.txt`` (1000 ImageNet synsets) and
``scenes.txt`` (401 Places2 scenes) are the original release's, in the order of the heads'
outputs (MIT licence, © 2016 Yusuf Aytar, Carl Vondrick, Antonio Torralba; see
``categories-LICENSE.txt``).

Each output frame of the heads (one per 65536 samples, about 3 s) sees about 18 s of sound;
frames whose window reaches the zero padding at either end are not what the network was
trained on, so short recordings are looped (as the original did) to at least ``seconds``, and
only the frames clear of the padding are averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import torch

from ...errors import AudioStyleError
from ...io.audio import AudioLike, as_audio, resample, silence, to_mono
from ...io.devices import resolve_device
from .network import SAMPLE_RATE, clean_frames, pretrained

#: Shortest recording classified, in seconds. :func:`classify` loops a sound to ~24 s; looped,
#: a sound shorter than this repeats more than once a second, and SoundNet hears the buzz or
#: rhythm of the repetition instead of the sound (a 1-sample file gave confident labels).
SHORTEST_SECONDS = 1.0


@dataclass(frozen=True)
class Classification:
    """The most likely categories of a recording, ``(label, probability)``, best first.

    Attributes:
        objects: ImageNet objects.
        scenes: Places scenes.
        frames: how many head output frames were averaged.
        seconds: length analysed, after looping, in seconds.
    """

    objects: list[tuple[str, float]]
    scenes: list[tuple[str, float]]
    frames: int
    seconds: float


@cache
def categories() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The 1000 object and 401 scene names, in the order of the heads' outputs.

    Objects lose their WordNet id (``"n02085620 Chihuahua"`` → ``"Chihuahua"``), scenes their
    letter folder (``"/s/stadium/baseball"`` → ``"stadium/baseball"``).
    """
    folder = resources.files(__package__)
    objects = tuple(line.split(" ", 1)[1] for line in
                    folder.joinpath("objects.txt").read_text().splitlines())
    scenes = tuple(line.split("/", 2)[2] for line in
                   folder.joinpath("scenes.txt").read_text().splitlines())
    return objects, scenes


@cache
def _shortest_clean() -> int:
    """Fewest samples giving one head frame clear of the zero padding."""
    low, high = 1, 64 * SAMPLE_RATE
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if clean_frames(mid, "conv8").any() else (mid + 1, high)
    return low


def classify(
    audio: AudioLike,
    *,
    sr: int | None = None,
    top: int = 5,
    seconds: float = 20.0,
    device: str | torch.device | None = None,
) -> Classification:
    """The ``top`` objects and scenes SoundNet predicts for ``audio``.

    Args:
        audio: path, :class:`~audiostyle.io.audio.Audio` or array ``(time,)``/``(channels,
            time)``; mixed to mono and resampled to 22050 Hz.
        sr: sample rate in Hz of an array.
        top: how many categories of each kind to return.
        seconds: loop the recording to at least this long (and at least long enough for
            one frame clear of the padding, about 24 s).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or None for the best available.

    Returns:
        The softmax probabilities averaged over the frames clear of the padding.
    """
    if top < 1:
        raise AudioStyleError(f"top must be at least 1, got {top}")
    sound = resample(to_mono(as_audio(audio, sr, name="audio")), SAMPLE_RATE)
    wave = sound.samples[0]
    if wave.size < SHORTEST_SECONDS * SAMPLE_RATE:
        raise AudioStyleError(
            f"{sound.name}: too short to classify: {wave.size / SAMPLE_RATE:.3f} s; it needs "
            f"at least {SHORTEST_SECONDS:g} s (looped, a shorter sound is a buzz at its "
            "repetition rate, not itself)")
    why = silence(wave)
    if why is not None:
        raise AudioStyleError(f"{sound.name}: is silent ({why}); nothing to classify")
    needed = max(math.ceil(seconds * SAMPLE_RATE), _shortest_clean())
    wave = np.tile(wave, math.ceil(needed / wave.size))
    target = resolve_device(device)
    net = pretrained().to(target)
    with torch.no_grad():
        conv7 = net(torch.from_numpy(wave)[None].to(target))["conv7"]
        logits = net.heads(conv7)
    keep = clean_frames(wave.size, "conv8").to(target)
    object_names, scene_names = categories()
    ranked = []
    for scores, names in zip(logits, (object_names, scene_names), strict=True):
        probability = scores[0].softmax(dim=0)[:, keep].mean(dim=1).cpu()
        values, index = probability.topk(min(top, len(names)))
        ranked.append([(names[i], float(v)) for v, i in zip(values, index.tolist(),
                                                               strict=True)])
    return Classification(objects=ranked[0], scenes=ranked[1], frames=int(keep.sum()),
                          seconds=wave.size / SAMPLE_RATE)
