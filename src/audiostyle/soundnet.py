"""Old import path of :mod:`audiostyle.networks.soundnet` (``audiostyle.soundnet.classify``)."""

from .networks.soundnet import Classification, SoundNet, categories, classify, pretrained

__all__ = ["Classification", "SoundNet", "categories", "classify", "pretrained"]
