"""Where torch work runs: ``auto`` (a CUDA GPU when present), ``cpu`` or ``cuda[:N]``."""

from __future__ import annotations

import torch

from songnet.core.errors import SongnetError

__all__ = ["DEVICE_HELP", "resolve_device"]

DEVICE_HELP = "auto (a CUDA GPU when present), cpu, cuda or cuda:N"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for a ``--device`` / ``device:`` value.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` gives the first CUDA GPU when one is present, else the CPU; ``"cpu"``,
        ``"cuda"`` and ``"cuda:N"`` as given.

    Raises
    ------
    SongnetError
        For any other name, or ``cuda`` on a machine without a CUDA GPU.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise SongnetError(f"device {device!r} is not one of {DEVICE_HELP}")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise SongnetError(f"device {device!r} is not one of {DEVICE_HELP}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SongnetError(f"device {device!r}: no CUDA GPU on this machine; use auto or cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise SongnetError(f"device {device!r}: this machine has {torch.cuda.device_count()} "
                           "CUDA GPU(s), numbered from 0; use auto, cpu or cuda:0")
    return dev
