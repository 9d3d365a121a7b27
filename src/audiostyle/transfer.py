"""Old import path of :mod:`audiostyle.synthesis.pipeline` (``from audiostyle.transfer
import transfer``)."""

from .synthesis.pipeline import Result, texture, transfer
from .synthesis.targets import StyleTarget, style_target

__all__ = ["Result", "StyleTarget", "style_target", "texture", "transfer"]
