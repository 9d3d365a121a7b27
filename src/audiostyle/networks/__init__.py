"""Pretrained networks ported to PyTorch, each beside the description of its weights
(:class:`~audiostyle.weights.WeightsSpec`): :mod:`.soundnet`; the extractors that use them are
in :mod:`audiostyle.extractors`."""
