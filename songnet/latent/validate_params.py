"""The ``validate`` section of params.yaml: :class:`ValidateParams`."""

from __future__ import annotations

import dataclasses

from songnet.model.openset import METRICS

__all__ = ["ValidateParams"]


@dataclasses.dataclass(frozen=True)
class ValidateParams:
    """The ``validate`` section of ``params.yaml``.

    Attributes
    ----------
    themes : tuple of str
        Themes to hold out; empty = every theme of the features (each once).
    folds : int
        The held-out themes are dealt, in sorted order, into this many folds; each fold
        costs one training (:func:`songnet.latent.folds.theme_folds`).
    epochs : int
        Length of each fold's one-cycle schedule (the full pipeline uses ``train.epochs``;
        see the README for the check that the shorter one gives the same answer).
    variants : int
        Drifted 1966-style variants per theme (sketched and resung); the odd-numbered ones
        choose the rule, the even-numbered ones report it (at least 2).
    seed : int
        Seed of the variants and of the bootstrap.
    quantiles : tuple of float
        Spread quantiles tried for the threshold.
    poolings : tuple of str
        ``pooled`` and/or ``per_theme`` spreads tried.
    metrics : tuple of str
        Distance spaces tried (:data:`songnet.model.openset.METRICS`).
    bootstrap : int
        Bootstrap resamples behind each 95 % interval.
    batch_size : int
        Images per network call when embedding.
    """

    themes: tuple[str, ...] = ()
    folds: int = 4
    epochs: int = 24
    variants: int = 8
    seed: int = 0
    quantiles: tuple[float, ...] = (0.9, 0.95, 0.98, 0.99, 1.0)
    poolings: tuple[str, ...] = ("pooled", "per_theme")
    metrics: tuple[str, ...] = METRICS
    bootstrap: int = 2000
    batch_size: int = 64

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size, self.bootstrap) < 1:
            raise ValueError(f"epochs={self.epochs}, bootstrap={self.bootstrap} and "
                             f"batch_size={self.batch_size} must be >= 1")
        if self.folds < 3:
            raise ValueError(f"folds={self.folds} must be >= 3 (a fold's rule is chosen on "
                             "the others, which need kept themes outside it)")
        if self.variants < 2:
            raise ValueError(f"variants={self.variants} must be >= 2 (half choose the rule, "
                             "half report it)")
        if not self.quantiles or any(not 0 < q <= 1 for q in self.quantiles):
            raise ValueError(f"quantiles={list(self.quantiles)} must lie in (0, 1]")
        if not self.poolings or set(self.poolings) - {"pooled", "per_theme"}:
            raise ValueError(f"poolings={list(self.poolings)}: use pooled and/or per_theme")
        if not self.metrics or set(self.metrics) - set(METRICS):
            raise ValueError(f"metrics={list(self.metrics)}: use {' and/or '.join(METRICS)}")
