"""A prelude for CLI tests of style models: ``learn`` builds a tiny network and trains on short
crops (a step takes milliseconds instead of a second), and when ``AUDIOSTYLE_TEST_AT`` names a
moment it is held there as :mod:`cli_moments` holds it."""

from __future__ import annotations

import importlib
import os

from audiostyle.models.network import NetConfig
from audiostyle.models.training import Recipe

TINY_NET = NetConfig(bands=12, fine_bands=24, channels=8, dilations=(1, 2, 4))
TINY_RECIPE = Recipe(batch=2, crop_seconds=0.5, validation_crops=2, texture_seconds=1.5,
                     texture_iterations=10)
#: The module (the package's ``learn`` is the function).
learn = importlib.import_module("audiostyle.models.learn")


def shrink(setattr=setattr) -> None:
    """Make ``learn``'s defaults tiny (``setattr``: pytest's ``monkeypatch.setattr`` undoes it
    after a test)."""
    setattr(learn, "NetConfig", lambda: TINY_NET)
    setattr(learn, "Recipe", lambda: TINY_RECIPE)


if os.environ.get("AUDIOSTYLE_TEST_TINY_MODELS"):  # (imported as the prelude of a CLI child)
    shrink()
    if os.environ.get("AUDIOSTYLE_TEST_AT"):
        import cli_moments  # noqa: F401
