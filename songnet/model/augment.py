"""The training augmentation: time shift, transposition, tempo and wobble (the warp), gain,
background mixing, frequency and time masks.

Everything runs on the CPU from the global torch RNG, so a run is reproducible on any
device.
"""

from __future__ import annotations

import math

import torch
import torchaudio
from torch import nn

from songnet.model.train_params import TrainParams

__all__ = ["augment", "warp_reference"]


def _warp_draws(b: int, params: TrainParams) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image, from the global torch RNG: the time shift (frames, float), the
    transposition (whole bins, int64) and the tempo factor (> 1: a slower song)."""
    shift = torch.randint(-params.shift_frames, params.shift_frames + 1, (b,)).float()
    pitch = torch.randint(-params.pitch_bins, params.pitch_bins + 1, (b,))
    scale = 1.0 + (torch.rand(b) * 2 - 1) * params.stretch
    return shift, pitch, scale


def _warp(x: torch.Tensor, params: TrainParams) -> torch.Tensor:
    """Per-image time shift (frames), transposition (bins) and tempo change, zero-filled.

    On a Constant-Q image a transposition is a shift along frequency and a tempo change a
    stretch along time (about the image's centre). The transposition is a whole number of
    bins, so it is an exact shift; time is resampled linearly: output frame ``u`` reads the
    input at ``(u + 0.5 - T/2) / scale + (T - 1)/2 - shift``, zero outside the image (the
    bilinear ``affine_grid`` + ``grid_sample`` of the same transform gives the same image
    to float rounding, 3-4 times slower on a CPU). With ``params.time_warp`` > 0 a smooth
    wobble is added to that reading position (:func:`_wobble`): notes move against each
    other, as in a bird that times its notes differently.
    """
    b, f, t = x.shape
    shift, pitch, scale = _warp_draws(b, params)
    moved = torch.zeros_like(x)
    for p in pitch.unique().tolist():  # output bin v reads input bin v - p
        rows = pitch == p
        if p >= 0:
            moved[rows, p:] = x[rows, :f - p]
        else:
            moved[rows, :f + p] = x[rows, -p:]
    u = torch.arange(t, dtype=torch.float32) + 0.5 - t / 2
    src = u[None, :] / scale[:, None] + (t - 1) / 2 - shift[:, None]  # (B, T)
    if params.time_warp > 0:
        src = src + _wobble(b, t, params)
    i0 = src.floor()
    w1 = src - i0
    i0 = i0.long()
    out = torch.zeros_like(x)
    for i, w in ((i0, 1.0 - w1), (i0 + 1, w1)):
        w = torch.where((i >= 0) & (i < t), w, 0.0)  # zero padding outside the image
        idx = i.clamp(0, t - 1)[:, None, :].expand(b, f, t)
        out += moved.gather(2, idx) * w[:, None, :]
    return out


def _wobble(b: int, t: int, params: TrainParams) -> torch.Tensor:
    """Per image, a displacement in frames of each output frame's reading position:
    ``a * sin(2 pi u / period + phase)``, ``|a|`` up to ``params.time_warp``, a period of 60
    to 200 frames (0.35-1.2 s at the default hop) and at least long enough that the reading
    position keeps moving forward at the fastest tempo (no frame is read backwards)."""
    shortest = max(60.0, 2 * math.pi * params.time_warp * (1 + params.stretch) * 1.25)
    amp = (torch.rand(b) * 2 - 1) * params.time_warp
    period = shortest + torch.rand(b) * max(0.0, 200.0 - shortest)
    phase = torch.rand(b) * 2 * math.pi
    u = torch.arange(t, dtype=torch.float32)
    return amp[:, None] * torch.sin(2 * math.pi * u[None, :] / period[:, None]
                                    + phase[:, None])


def warp_reference(x: torch.Tensor, params: TrainParams) -> torch.Tensor:
    """The transform of the augmentation's warp as one bilinear affine resampling
    (``affine_grid`` + ``grid_sample``), from the same random draws (:func:`_warp_draws`): the
    reference the tests and ``benchmarks/train_step.py`` hold :func:`augment` to (its affine
    part: ``time_warp`` 0)."""
    b, f, t = x.shape
    shift, pitch, scale = _warp_draws(b, params)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = 1.0 / scale, -2.0 * shift / t
    theta[:, 1, 1], theta[:, 1, 2] = 1.0, -2.0 * pitch.float() / f
    grid = nn.functional.affine_grid(theta, [b, 1, f, t], align_corners=False)
    return nn.functional.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros",
                                     align_corners=False)[:, 0]


def augment(x: torch.Tensor, *, params: TrainParams,
            noise: torch.Tensor | None = None) -> torch.Tensor:
    """Random time shift, transposition, tempo, gain, background mixing, masks.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, n_bins, n_frames)], float32 in [0, 1]
    params : TrainParams
    noise : torch.Tensor [shape=(M, n_bins, n_frames)], optional
        Background images to mix in (``no_song`` examples).

    Returns
    -------
    torch.Tensor [shape=(B, n_bins, n_frames)] in [0, 1]
        Uses the global torch RNG.
    """
    b = x.shape[0]
    if (params.shift_frames > 0 or params.pitch_bins > 0 or params.stretch > 0
            or params.time_warp > 0):
        x = _warp(x, params)
    if params.gain > 0:
        g = (torch.rand(b, 1, 1) * 2 - 1) * params.gain
        x = torch.where(x > 0, (x + g).clamp(0, 1), x)  # the dB floor stays the floor
    if noise is not None and len(noise) and params.noise_prob > 0:
        pick = torch.randint(0, len(noise), (b,))
        drop = torch.rand(b, 1, 1) * params.noise_drop
        mixed = torch.maximum(x, (noise[pick].float() - drop).clamp(min=0))
        use = (torch.rand(b, 1, 1) < params.noise_prob)
        x = torch.where(use, mixed, x)
    x = x[:, None]  # (B, 1, n_bins, n_frames) for torchaudio's iid masks
    if params.freq_mask > 0:
        x = torchaudio.transforms.FrequencyMasking(params.freq_mask, iid_masks=True)(x)
    if params.time_mask > 0:
        x = torchaudio.transforms.TimeMasking(params.time_mask, iid_masks=True)(x)
    return x[:, 0]
