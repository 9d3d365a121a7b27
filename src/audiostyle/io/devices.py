"""Choosing the compute device."""

from __future__ import annotations

import torch

from ..errors import AudioStyleError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"``: CUDA if present, else Apple MPS, else CPU; otherwise as given."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise AudioStyleError(
            f"Unknown device {device!r}; use `device` auto, cpu, cuda or mps"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AudioStyleError("`device` cuda: no CUDA GPU is available here; use `device` cpu")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise AudioStyleError("`device` mps: Apple MPS is not available here; use `device` cpu")
    return resolved
