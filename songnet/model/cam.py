"""Class activation maps: which part of an image made the network name a class.

:func:`grad_cam` weights the network's last four-dimensional feature map ``A`` (channels ×
frequency × time, the module its ``cam_layer`` names) by the gradient of the chosen
class's **log-odds** against all other classes (``z_k - logsumexp_{j≠k} z_j`` of the
logits ``z``) with respect to it, sums over channels and keeps the positive part,
upsampled to the image: where the evidence *for that class rather than the others* lies.
A part of the song that every theme shares (the dialect's trill) raises every theme's
logit alike and so cancels; the note that tells the theme from the others remains. Unlike
the softmax, the log-odds never saturate, so a sure class still has a usable gradient.
Two weightings:

- ``"gradcam"`` (Selvaraju et al. 2017, "Grad-CAM: visual explanations from deep networks
  via gradient-based localization"): one weight per channel, its gradient's mean over the
  map. When every channel's mean gradient is negative the map is empty; on songnet's
  networks that happens for very sure songs (the temporal head pools over time).
- ``"hirescam"`` (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful
  explanations of convolutional neural networks"), the default: each position weighted by
  its own gradient, ``relu(sum_c dy/dA_c * A_c)``. Before pooling this is exactly each
  position's first-order share of the logit, so it shows what the network used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from songnet.core.errors import SongnetError

__all__ = ["METHODS", "cam_module", "grad_cam", "log_odds"]

METHODS = ("hirescam", "gradcam")


def cam_module(model: nn.Module) -> nn.Module:
    """The module whose output is the network's last 4-D feature map ``(B, C, F, T)``."""
    layer = getattr(model, "cam_layer", None)
    if not isinstance(layer, nn.Module):
        raise SongnetError(f"{type(model).__name__} names no cam_layer: class activation "
                           "maps need the network's last convolutional feature map")
    return layer


def log_odds(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``z_k - logsumexp_{j != k} z_j`` of each row's class ``k``: the log-odds of that class
    against all the others, shape ``(B,)``."""
    z = logits.double()  # (B, n_classes)
    mine = z.gather(1, target[:, None])[:, 0]
    others = z.scatter(1, target[:, None], float("-inf"))
    return mine - torch.logsumexp(others, dim=1)


def grad_cam(model: nn.Module, images: np.ndarray | torch.Tensor,
             classes: Sequence[int], *, method: str = "hirescam") -> np.ndarray:
    """Grad-CAM of each image for one class each.

    Parameters
    ----------
    model : nn.Module
        A songnet network (``forward`` gives logits; ``cam_layer`` names the feature map).
    images : np.ndarray or torch.Tensor [shape=(B, n_bins, n_frames)]
        Images in [0, 1], as the network was trained on.
    classes : sequence of int
        The class (logit index) to explain for each image, ``B`` of them.
    method : {"hirescam", "gradcam"}
        The weighting (see the module docstring).

    Returns
    -------
    np.ndarray [shape=(B, n_bins, n_frames), dtype=float32]
        Each map scaled to [0, 1] by its own maximum (all zeros where no part of the image
        speaks for the class).
    """
    if method not in METHODS:
        raise SongnetError(f"method={method!r} must be one of {', '.join(METHODS)}")
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)
                        if isinstance(images, np.ndarray) else images).float()
    if x.ndim != 3:
        raise SongnetError(f"grad_cam takes images of shape (B, n_bins, n_frames), got "
                           f"{tuple(x.shape)}")
    target = torch.as_tensor(np.asarray(classes, dtype=np.int64))
    if target.shape != (x.shape[0],):
        raise SongnetError(f"{target.numel()} classes for {x.shape[0]} images")
    device = next(model.parameters()).device
    x = x.to(device)[:, None]  # (B, 1, n_bins, n_frames)
    store: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        output.retain_grad()
        store["A"] = output

    handle = cam_module(model).register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x)  # (B, n_classes)
            log_odds(logits, target.to(device)).sum().backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    a = store["A"]  # (B, C, f, t)
    if a.ndim != 4 or a.grad is None:
        raise SongnetError(f"the cam_layer of {type(model).__name__} gave an output of shape "
                           f"{tuple(a.shape)}; it must be (B, C, F, T)")
    if method == "gradcam":
        weights = a.grad.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    else:
        weights = a.grad  # (B, C, f, t): HiResCAM, each position its own gradient
    cam = torch.relu((weights * a).sum(dim=1, keepdim=True)).detach()  # (B, 1, f, t)
    cam = F.interpolate(cam, size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)
    cam = cam[:, 0]  # (B, n_bins, n_frames)
    peak = cam.flatten(1).amax(dim=1).clamp(min=1e-12)[:, None, None]
    return (cam / peak).float().cpu().numpy()
