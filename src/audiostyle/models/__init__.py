"""Style models: a style learned once (a small causal network trained from the transfer's own
loss), then applied to any sound faster than real time, or streamed block by block.

:func:`learn` makes a :class:`StyleModel`; :meth:`StyleModel.apply`, :meth:`StyleModel.stream`,
:meth:`StyleModel.save` and :meth:`StyleModel.load` use it. Modules, one job each:
``frames`` (the STFT grid and bands at any rate), ``excitation`` (the model's texture of the
style, read re-timed by the content's onsets), ``network`` (the network and its causal signal
path), ``corpus`` (content crops: synthetic or a folder), ``objective`` (the
transfer loss of a crop: the one link to the synthesis internals), ``training`` (Adam within a
budget; the resumable state), ``model`` (apply, stream, the file), ``learn`` (all together).
"""

from .learn import learn
from .model import Latency, Stream, StyleModel

__all__ = ["Latency", "Stream", "StyleModel", "learn"]
