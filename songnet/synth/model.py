"""The syrinx model's equations and the plain NumPy RK4 reference integrator.

Three parts, as in ``DESIGN.md`` (Mindlin lab normal form; labial position ``x``,
velocity ``y``):

* **source** (labial oscillator)::

      x' = y
      y' = −α γ² − β γ² x + γ² x² − γ² x³ − γ x y − γ x² y

* **trachea**, a delay line of length ``T = L/c`` with reflection ``r`` at the far end::

      p_in(t)   = 0.5·A(t)·y(t) + p_back(t − T),   p_back(t) = −r·p_in(t − T)
      P_t(t)    = (1 − r)·p_in(t − T)              (the part transmitted into the cavity)

* **oropharyngeal-esophageal cavity** (Helmholtz resonator, electric analogue) driven by
  ``P_t`` and ``P_t'``; the radiated pressure is ``p_out = Rb·i3``.

Time advances in substeps of ``dt = 1 / (SR · n_sub)``. Within one output sample, α, β and
the envelope A are held at that sample's value; within one substep the cavity input
``(P_t, P_t')`` is held (``P_t'`` is the backward difference over one substep). The source
and the cavity each take one classical RK4 step per substep. :func:`render_reference`
runs this scheme in NumPy, vectorised over a batch of songs; it is the accuracy
reference for the compiled integrator in :mod:`songnet.synth.integrate`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.errors import SongnetError

__all__ = [
    "ALPHA_SILENT",
    "ALPHA_SOUND",
    "BETA_SILENT",
    "DEFAULT_TRACT",
    "GAMMA",
    "OUTPUT_GAIN",
    "REFERENCE_SUBSTEPS",
    "SR",
    "X_LIMIT",
    "Y_LIMIT",
    "Tract",
    "cavity_matrices",
    "check_inputs",
    "render_reference",
]

SR = 44100
"""Synthesis rate (Hz) of every model output."""
GAMMA = 24000.0
"""Reference time-scale constant γ (1/s); F0 scales linearly with γ."""
ALPHA_SOUND = 0.03
"""Air-sac pressure α of a sounding note (the calibration is made at this α)."""
ALPHA_SILENT = -0.15
BETA_SILENT = -0.15
REFERENCE_SUBSTEPS = 20
"""RK4 substeps per output sample of the reference (dt = 1/882 000 s)."""
OUTPUT_GAIN = 1.0 / 300.0
"""Fixed gain from the cavity's pressure ``Rb·i3`` to the returned samples."""
X_LIMIT = 50.0
"""Blow-up guard: a labial position beyond ±X_LIMIT stops the song."""
Y_LIMIT = 5.0e6
"""Blow-up guard on the labial velocity (the lab's code aborts at y < −5e6)."""


@dataclasses.dataclass(frozen=True)
class Tract:
    """Trachea and cavity constants of one bird.

    Attributes
    ----------
    length_cm : float
        Trachea length L in cm (the delay is L/c).
    sound_speed_cm_s : float
        Speed of sound c in cm/s.
    reflection : float
        Reflection coefficient r at the trachea's far end.
    inv_ch, inv_lb, inv_lg : float
        1/Ch, 1/Lb, 1/Lg of the cavity's electric analogue.
    rb, rh : float
        Rb and Rh of the cavity's electric analogue.
    """

    length_cm: float = 3.5
    sound_speed_cm_s: float = 35000.0
    reflection: float = 0.1
    inv_ch: float = 4.5e10
    inv_lb: float = 1.0e-4
    inv_lg: float = 1.0 / 82.0
    rb: float = 5.0e6
    rh: float = 6.0e5

    def __post_init__(self) -> None:
        for name in ("length_cm", "sound_speed_cm_s", "inv_ch", "inv_lb", "inv_lg", "rb", "rh"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise SongnetError(f"tract parameter {name}={value!r} must be a positive number")
        if not 0.0 <= self.reflection < 1.0:
            raise SongnetError(f"tract parameter reflection={self.reflection!r} must lie in [0, 1)")

    def delay_substeps(self, n_sub: int) -> int:
        """The trachea delay T = L/c in substeps of ``1/(SR·n_sub)`` s (at least one)."""
        return max(1, round(self.length_cm / self.sound_speed_cm_s * SR * n_sub))


DEFAULT_TRACT = Tract()
"""The trachea and cavity of DESIGN.md (L = 3.5 cm)."""


def cavity_matrices(tract: Tract) -> tuple[np.ndarray, np.ndarray]:
    """The cavity as a linear system ``i' = M i + N u`` with ``u = (P_t, P_t')``.

    Returns
    -------
    M : np.ndarray [shape=(3, 3)]
    N : np.ndarray [shape=(3, 2)]
    """
    inv_ch, inv_lb, inv_lg = tract.inv_ch, tract.inv_lb, tract.inv_lg
    rb, rh = tract.rb, tract.rh
    m = np.array([
        [0.0, 1.0, 0.0],
        [-inv_lg * inv_ch, -rh * (inv_lb + inv_lg), inv_lg * inv_ch - rh * rb * inv_lg * inv_lb],
        [0.0, -inv_lb / inv_lg, -rb * inv_lb],
    ])
    n = np.array([
        [0.0, 0.0],
        [rh * inv_lg * inv_lb, inv_lg],
        [inv_lb, 0.0],
    ])
    return m, n


def check_inputs(alpha: np.ndarray, beta: np.ndarray, envelope: np.ndarray,
                 gamma: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate gesture arrays (same shape, finite) and γ (a number, or one per sample);
    return the arrays as float64."""
    arrays = []
    for name, a in (("alpha", alpha), ("beta", beta), ("envelope", envelope)):
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 0:
            raise SongnetError(f"{name} must be a time series (one value per sample), got a scalar")
        if not np.all(np.isfinite(a)):
            raise SongnetError(f"{name} contains NaN or inf; check the gesture that made it")
        arrays.append(a)
    if not (arrays[0].shape == arrays[1].shape == arrays[2].shape):
        raise SongnetError(f"alpha, beta and envelope must have one shape, got "
                           f"{arrays[0].shape}, {arrays[1].shape}, {arrays[2].shape}")
    g = np.asarray(gamma, dtype=np.float64)
    bad = np.ravel(g)[~(np.isfinite(np.ravel(g)) & (np.ravel(g) > 0))]
    if bad.size:
        raise SongnetError(f"gamma={float(bad[0])!r} must be a positive number "
                           f"(default {GAMMA:g})")
    if g.ndim and (g.ndim > arrays[0].ndim or g.shape[-1] != arrays[0].shape[-1]):
        raise SongnetError(f"gamma of shape {g.shape} must be a number or one value per "
                           f"sample like alpha {arrays[0].shape}")
    return arrays[0], arrays[1], arrays[2]


def _source_rhs(x, y, a, b, g):
    g2 = g * g
    return y, g2 * (-a - b * x + x * x - x * x * x) - g * x * y * (1.0 + x)


def render_reference(alpha: np.ndarray, beta: np.ndarray, envelope: np.ndarray, *,
                     gamma: float | np.ndarray = GAMMA, tract: Tract = DEFAULT_TRACT,
                     n_sub: int = REFERENCE_SUBSTEPS) -> np.ndarray:
    """Integrate the full model with RK4 in plain NumPy (the accuracy reference).

    Vectorised over songs, looped over time: slow (tens of seconds per second of song),
    meant for checking the compiled integrator.

    Parameters
    ----------
    alpha, beta, envelope : np.ndarray [shape=(n,) or (B, n)]
        Air-sac pressure α, tension β and trachea input amplitude A per output sample.
    gamma : float or np.ndarray [shape=(n,) or (B, n)]
        Time-scale constant γ (1/s), shared by the batch, or one per sample.
    tract : Tract
        Trachea and cavity constants.
    n_sub : int
        RK4 substeps per output sample.

    Returns
    -------
    np.ndarray [shape like ``alpha``, dtype=float64]
        Radiated pressure ``OUTPUT_GAIN·Rb·i3`` at :data:`SR`.
    """
    alpha, beta, envelope = check_inputs(alpha, beta, envelope, gamma)
    squeeze = alpha.ndim == 1
    alpha, beta, envelope = (np.atleast_2d(a) for a in (alpha, beta, envelope))
    n_songs, n = alpha.shape
    g = np.asarray(gamma, dtype=np.float64)
    gammas = np.broadcast_to(g[..., None] if g.ndim == 0 else g, (n_songs, n))  # (B, n)
    dt = 1.0 / (SR * n_sub)
    delay = tract.delay_substeps(n_sub)
    r = tract.reflection
    m, nn = cavity_matrices(tract)
    x = np.zeros(n_songs)
    y = np.zeros(n_songs)
    cav = np.zeros((n_songs, 3))
    ring = np.zeros((n_songs, 2 * delay))  # p_in over the last 2·delay substeps
    pt_prev = np.zeros(n_songs)
    out = np.zeros((n_songs, n))
    k = 0
    for i in range(n):
        a, b, amp, g = alpha[:, i], beta[:, i], envelope[:, i], gammas[:, i]
        for _ in range(n_sub):
            k1x, k1y = _source_rhs(x, y, a, b, g)
            k2x, k2y = _source_rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, a, b, g)
            k3x, k3y = _source_rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, a, b, g)
            k4x, k4y = _source_rhs(x + dt * k3x, y + dt * k3y, a, b, g)
            x = x + dt / 6.0 * (k1x + 2 * k2x + 2 * k3x + k4x)
            y = y + dt / 6.0 * (k1y + 2 * k2y + 2 * k3y + k4y)
            slot = k % (2 * delay)
            p_in = 0.5 * amp * y - r * ring[:, slot]        # ring[slot] holds p_in(k − 2·delay)
            pt = (1.0 - r) * ring[:, (k - delay) % (2 * delay)]
            ring[:, slot] = p_in
            u = np.stack([pt, (pt - pt_prev) / dt], axis=1)  # (B, 2)
            pt_prev = pt
            drive = u @ nn.T
            c1 = cav @ m.T + drive
            c2 = (cav + 0.5 * dt * c1) @ m.T + drive
            c3 = (cav + 0.5 * dt * c2) @ m.T + drive
            c4 = (cav + dt * c3) @ m.T + drive
            cav = cav + dt / 6.0 * (c1 + 2 * c2 + 2 * c3 + c4)
            k += 1
        bad = ~(np.isfinite(x) & (np.abs(x) <= X_LIMIT) & (np.abs(y) <= Y_LIMIT * g / GAMMA))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise SongnetError(_blowup_message(i, alpha[j, i], beta[j, i], g[j]))
        out[:, i] = OUTPUT_GAIN * tract.rb * cav[:, 2]
    return out[0] if squeeze else out


def _blowup_message(i: int, a: float, b: float, gamma: float) -> str:
    return (f"syrinx model blew up at t={i / SR:.4f} s (alpha={a:.4g}, beta={b:.4g}, "
            f"gamma={gamma:.6g}); keep alpha within about [-1, 1], beta within the "
            "calibrated range and gamma near 24000")
