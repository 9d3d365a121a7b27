"""How a result is made, in pipeline order.

- :mod:`.targets`: a style's statistics as a value (:class:`~.targets.StyleTarget`) and how
  they are computed piece by piece;
- :mod:`.losses`: the style loss (distance to those statistics), the content loss, their sum;
- :mod:`.domains`: what tensor the optimiser changes (spectrogram or waveform) and how it
  becomes sound;
- :mod:`.optimiser`: :func:`~.optimiser.optimise`, L-BFGS or Adam on a loss of one tensor;
- :mod:`.stages`: one chunk optimised: its start, its stages, back to a waveform;
- :mod:`.chunking`: the chunk plan of a long sound and the cross-fades that join the chunks;
- :mod:`.pipeline`: :func:`~.pipeline.transfer` and :func:`~.pipeline.texture`, end to end.
"""
