"""Old import path of :mod:`audiostyle.synthesis.pipeline` (``from audiostyle.transfer
import transfer``)."""

from .synthesis.pipeline import Result, style_target, texture, transfer
from .synthesis.targets import StyleTarget

__all__ = ["Result", "StyleTarget", "style_target", "texture", "transfer"]
