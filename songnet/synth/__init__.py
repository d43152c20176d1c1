"""The syrinx model: labial source, trachea, cavity; calibration; gestures.

>>> from songnet.synth import gestures_from_contour, render_gesture
>>> g = gestures_from_contour([0, 0.1, 0.2], [4000, 4000, 4000], [1, 1, 1])
>>> y = render_gesture(g)            # float64 (n,), 44.1 kHz

See ``DESIGN.md`` for the equations and ``docs/ARCHITECTURE.md`` for the contract.

The names below load their module on first use (PEP 562): ``from songnet.synth import SR``
imports the model's constants only, not numba and scipy, which the integrator and the
gestures need.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    **dict.fromkeys(("beta_for_f0", "f0_for_beta", "f0_range", "harmonic_level_db",
                     "level_for_beta", "level_for_beta_gamma", "regenerate"), "calibration"),
    **dict.fromkeys(("SHAPES", "TONAL_BETA", "Gesture", "gamma_for_range", "gamma_profile",
                     "gestures_from_contour", "note_contour", "trill_contour"), "gestures"),
    **dict.fromkeys(("render", "render_batch", "render_gesture"), "integrate"),
    **dict.fromkeys(("ALPHA_SILENT", "ALPHA_SOUND", "BETA_SILENT", "DEFAULT_TRACT", "GAMMA",
                     "REFERENCE_SUBSTEPS", "SR", "Tract", "render_reference"), "model"),
}
"""Each public name and the submodule that defines it."""

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'songnet.synth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"songnet.synth.{module}"), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
