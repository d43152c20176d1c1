"""The syrinx model: labial source, trachea, cavity; calibration; gestures.

>>> from songnet.synth import gestures_from_contour, render_gesture
>>> g = gestures_from_contour([0, 0.1, 0.2], [4000, 4000, 4000], [1, 1, 1])
>>> y = render_gesture(g)            # float64 (n,), 44.1 kHz

See ``DESIGN.md`` for the equations and ``docs/ARCHITECTURE.md`` for the contract.
"""

from __future__ import annotations

import numpy as np

from songnet.synth.calibration import (
    beta_for_f0,
    f0_for_beta,
    f0_range,
    harmonic_level_db,
    level_for_beta,
    level_for_beta_gamma,
    regenerate,
)
from songnet.synth.gestures import (
    SHAPES,
    TONAL_BETA,
    Gesture,
    gamma_for_range,
    gamma_profile,
    gestures_from_contour,
    note_contour,
    trill_contour,
)
from songnet.synth.integrate import render, render_batch
from songnet.synth.model import (
    ALPHA_SILENT,
    ALPHA_SOUND,
    BETA_SILENT,
    DEFAULT_TRACT,
    GAMMA,
    REFERENCE_SUBSTEPS,
    SR,
    Tract,
    render_reference,
)

__all__ = [
    "ALPHA_SILENT",
    "ALPHA_SOUND",
    "BETA_SILENT",
    "DEFAULT_TRACT",
    "GAMMA",
    "REFERENCE_SUBSTEPS",
    "SHAPES",
    "SR",
    "TONAL_BETA",
    "Gesture",
    "Tract",
    "beta_for_f0",
    "f0_for_beta",
    "f0_range",
    "gamma_for_range",
    "gamma_profile",
    "gestures_from_contour",
    "harmonic_level_db",
    "level_for_beta",
    "level_for_beta_gamma",
    "note_contour",
    "regenerate",
    "render",
    "render_batch",
    "render_gesture",
    "render_reference",
    "trill_contour",
]


def render_gesture(gesture: Gesture, *, tract: Tract = DEFAULT_TRACT,
                   n_sub: int = REFERENCE_SUBSTEPS) -> np.ndarray:
    """Render a :class:`Gesture` with the full model; float64 ``(n,)`` at :data:`SR`."""
    return render(gesture.alpha, gesture.beta, gesture.envelope, gamma=gesture.gamma,
                  tract=tract, n_sub=n_sub)
