"""VGG-19 (Simonyan & Zisserman 2015, ImageNet): torchvision's convolutional trunk and its weights.

The network is torchvision's ``vgg19``; its module names (``features.N``) are kept so that
torchvision's checkpoint maps one to one. ImageNet weights cannot be downloaded at run time:
``audiostyle weights install vgg19`` converts torchvision's ``vgg19-dcbb9e9d.pth`` (see
:data:`HOW_TO_GET`). The extractor that reads spectrograms with it is
:class:`audiostyle.extractors.vgg19.Vgg19Extractor`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import AudioStyleError
from ..weights import WeightsSpec
from ..weights.store import sha256

log = logging.getLogger(__name__)

#: torchvision's VGG-19 ("E"): output channels of each 3×3 convolution, "M" = 2×2 max pool.
CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: ImageNet per-channel mean and standard deviation of images in [0, 1] (torchvision's).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

HUB_FILE = "vgg19-dcbb9e9d.pth"
HUB_HASH = "dcbb9e9d"
HOW_TO_GET = (
    f"on a machine with internet, download https://download.pytorch.org/models/{HUB_FILE} "
    "(548 MB; torchvision.models.vgg19(weights='IMAGENET1K_V1') also saves it in "
    "~/.cache/torch/hub/checkpoints), copy it here and run "
    f"`audiostyle weights install vgg19 --from {HUB_FILE}`"
)


def modules_config() -> list[object]:
    """torchvision's ``features`` by index: output channels for a 3×3 convolution, ``"R"``
    for a ReLU, ``"M"`` for a 2×2 max pool."""
    items: list[object] = []
    for item in CONFIG:
        items += ["M"] if item == "M" else [item, "R"]
    return items


def layer_table() -> dict[str, int]:
    """Every ReLU of VGG-19 by name (``relu3_2``) → its index in torchvision's ``features``."""
    names, block, conv = {}, 1, 0
    for index, item in enumerate(modules_config()):
        if item == "M":
            block, conv = block + 1, 0
        elif item == "R":
            conv += 1
            names[f"relu{block}_{conv}"] = index
    return names


def conv_shapes() -> dict[int, tuple[int, int]]:
    """Index in ``features`` of every convolution → (input, output) channels."""
    shapes, channels = {}, 3
    for index, item in enumerate(modules_config()):
        if isinstance(item, int):
            shapes[index] = (channels, item)
            channels = item
    return shapes


class VGG19Trunk(nn.Module):
    """The first ``length`` modules of torchvision's ``vgg19().features``, under the same
    names (``features.0.weight`` …), so torchvision's state dict loads into it directly."""

    def __init__(self, length: int) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        channels = 3
        for item in modules_config()[:length]:
            if item == "M":
                modules.append(nn.MaxPool2d(2, 2))
            elif item == "R":
                modules.append(nn.ReLU())
            else:
                modules.append(nn.Conv2d(channels, int(item), 3, padding=1))
                channels = int(item)
        self.features = nn.Sequential(*modules)


def _convert(source: Path | None) -> dict[str, Tensor]:
    """The convolution weights of a torchvision VGG-19 checkpoint, after the hash check."""
    path = source or Path(torch.hub.get_dir()) / "checkpoints" / HUB_FILE
    if not path.is_file():
        raise AudioStyleError(f"no VGG-19 checkpoint at {path}: {HOW_TO_GET}")
    match = re.fullmatch(r".*-([0-9a-f]{8,64})\.pth?", path.name)
    if match is None:
        raise AudioStyleError(
            f"{path.name}: no SHA-256 prefix in the file name to check it against (torchvision "
            f"names it {HUB_FILE}); give the file its original name"
        )
    digest = sha256(path)
    if not digest.startswith(match.group(1)):
        raise AudioStyleError(
            f"{path}: SHA-256 {digest[:16]}… does not start with {match.group(1)} from its "
            "name; the file is damaged or not the one its name says, download it again"
        )
    if match.group(1) != HUB_HASH:
        log.warning("%s is not torchvision's ImageNet VGG-19 (%s); using it as a VGG-19 of the "
                    "same layout", path.name, HUB_FILE)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        tensors = {}
        for index, (cin, cout) in conv_shapes().items():
            weight, bias = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
            if tuple(weight.shape) != (cout, cin, 3, 3) or tuple(bias.shape) != (cout,):
                raise ValueError(f"features.{index} has shape {tuple(weight.shape)}")
            tensors[f"features.{index}.weight"] = weight.float().contiguous()
            tensors[f"features.{index}.bias"] = bias.float().contiguous()
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError) as exc:
        raise AudioStyleError(f"{path} is not a torchvision VGG-19 state dict ({exc})") from None
    return tensors


WEIGHTS = WeightsSpec(
    name="vgg19",
    description=f"torchvision's ImageNet VGG-19 ({HUB_FILE}), convolutional layers only",
    convert=_convert,
    how_to_get=HOW_TO_GET,
)


