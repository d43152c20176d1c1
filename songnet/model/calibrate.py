"""What a trained network is fitted with beside its weights: the open-set matcher
(:func:`fit_open_set`), the least p(unknown) of an unknown song (:func:`fit_unknown_min_p`)
and the note check (:func:`fit_note_check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from songnet.core.errors import SongnetError
from songnet.core.labels import UNKNOWN, ranks_unknown_first, theme_classes
from songnet.features.featureset import FeatureSplit
from songnet.features.params import FeatureParams
from songnet.model.network import Network
from songnet.model.openset import ThemeMatcher
from songnet.model.train_params import TrainParams
from songnet.song.notecheck import NoteCheck, image_vectors

__all__ = ["fit_note_check", "fit_open_set", "fit_unknown_min_p"]


def fit_unknown_min_p(model: Network, split: FeatureSplit, *, classes: Sequence[str],
                      params: TrainParams, device: torch.device | str = "cpu") -> float:
    """The least ``p(unknown)`` an event needs to be a song of an unknown theme: the
    ``unknown_quantile`` quantile of ``p(unknown)`` over ``split``'s ``unknown`` songs that
    the network ranks ``unknown`` first among the song classes (0 without such songs).

    A sound the network ranks ``unknown`` with less than that is weaker evidence than all
    but ``unknown_quantile`` of the foreign songs it knows: classify takes it for no song.
    """
    if UNKNOWN not in classes:
        return 0.0
    iu = list(classes).index(UNKNOWN)
    pick = np.flatnonzero(split.labels == iu)
    if pick.size == 0:
        return 0.0
    p = _eval_batches(model, split.images, pick, batch_size=params.batch_size, device=device,
                      fn=lambda m, x: torch.softmax(m(x), dim=1))
    top = ranks_unknown_first(p, classes)
    if not top.any():
        return 0.0
    return float(np.quantile(p[top, iu], params.unknown_quantile))


def _eval_batches(model: Network, images: np.ndarray, rows: np.ndarray, *, batch_size: int,
                  device: torch.device | str, fn: Callable[[Network, torch.Tensor],
                                                           torch.Tensor]) -> np.ndarray:
    """``fn(model, x)`` of ``images[rows]`` (``x``: ``(b, 1, n_bins, n_frames)``), batch by
    batch, in eval mode without gradients, as one NumPy array."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, rows.size, batch_size):
            xb = torch.from_numpy(images[rows[start:start + batch_size]])
            out.append(fn(model, xb.float().to(device)[:, None]).cpu().numpy())
    return np.concatenate(out)


def fit_open_set(model: Network, split: FeatureSplit, *, classes: Sequence[str],
                 params: TrainParams, device: torch.device | str = "cpu",
                 real: FeatureSplit | None = None) -> dict[str, Any] | None:
    """The open-set matcher of a trained model: theme centroids and thresholds from the
    embeddings of ``split``'s theme songs (``unknown`` and ``no_song`` left out), with the
    ``open_set_*`` rule of ``params``.

    With ``real`` (real songs of the catalog's themes, however many) and
    ``params.open_set_real``, each theme's centroid is the mean of two centroids, its
    model-made songs' and its real songs', and the threshold's quantile runs over both
    kinds' distances: the validation birds are model-made, and alone they put a theme's
    centre where the model sings it, farther from the real birds than from its own
    surrogates.

    Returns
    -------
    dict or None
        :meth:`ThemeMatcher.to_dict`; None when no theme has two songs in ``split``.
    """
    themes = theme_classes(classes)
    keep = np.flatnonzero(np.isin(split.labels, [list(classes).index(t) for t in themes]))
    if keep.size < 2:
        return None
    emb = _eval_batches(model, split.images, keep, batch_size=params.batch_size,
                        device=device, fn=lambda m, x: m.embed(x))
    labels = [classes[i] for i in split.labels[keep]]
    groups = ["model"] * len(labels)
    if real is not None and len(real) and params.open_set_real:
        rows = np.flatnonzero(np.isin(real.labels, [list(classes).index(t) for t in themes]))
        if rows.size:
            emb = np.concatenate([emb, _eval_batches(model, real.images, rows,
                                                     batch_size=params.batch_size,
                                                     device=device, fn=lambda m, x: m.embed(x))])
            labels += [classes[i] for i in real.labels[rows]]
            groups += ["real"] * rows.size
    try:
        matcher = ThemeMatcher(threshold_quantile=params.open_set_quantile,
                               threshold_scale=params.open_set_scale,
                               pooling=params.open_set_pooling,
                               metric=params.open_set_metric).fit(emb, labels, groups)
    except SongnetError:  # every theme with a single song: no spread to learn
        return None
    return matcher.to_dict()


def fit_note_check(splits: Sequence[FeatureSplit], *, classes: Sequence[str],
                   feature_params: Mapping[str, Any], templates: Mapping[str, np.ndarray],
                   params: TrainParams) -> dict[str, Any] | None:
    """The note check of a model (:class:`songnet.song.notecheck.NoteCheck`): each catalog
    theme's introduction (``templates``: note vectors) and the threshold learned from the
    introductions measured on ``splits``' songs of those themes (the training and
    validation birds: the check does not depend on the network, so every bird the model
    was built from counts): the ``note_check_quantile`` of their distances to their own
    theme.

    Returns
    -------
    dict or None
        :meth:`NoteCheck.to_dict`; None for a front end other than the CQT (the check
        reads pitches off log-spaced bins), without templates, or when too few songs are
        measured cleanly.
    """
    fp = FeatureParams(**dict(feature_params))
    known = [t for t in theme_classes(classes) if t in templates]
    if fp.frontend != "cqt" or not known:
        return None
    frame_s = fp.hop_length / fp.sr
    songs = []
    for split in splits:
        for image, label in zip(split.images, split.labels, strict=True):
            theme = classes[int(label)]
            if theme in known:
                songs.append((theme, image_vectors(image, fp.frequencies, frame_s,
                                                   fp.db_floor)))
    try:
        return NoteCheck.fit({t: templates[t] for t in known}, songs,
                             quantile=params.note_check_quantile).to_dict()
    except SongnetError:
        return None
