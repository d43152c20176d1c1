"""``songnet features``: a manifest's clips -> Constant-Q image arrays, one per split."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from songnet.cli.common import common_options
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, write_json
from songnet.core.params import load_params
from songnet.core.progress import bar
from songnet.features.featureset import SPLITS, compute_features, preview_figure, read_manifest
from songnet.features.params import FeatureParams


@click.command("features")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("data/surrogates/manifest.csv"), show_default=True,
              help="Manifest CSV (path, theme, split); paths are relative to its folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("data/features"), show_default=True,
              help="Output folder, replaced as a whole when complete.")
@click.option("--device", default="auto", show_default=True,
              help="auto (a GPU when present), cpu or cuda.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Clips per batched transform.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads reading and resampling audio.")
@click.option("--preview-per-class", type=click.IntRange(min=1), default=4, show_default=True,
              help="Images per class in preview.png.")
@common_options
def command(manifest_path: Path, out_dir: Path, device: str, batch_size: int, workers: int,
            preview_per_class: int, params_file: Path, quiet: bool) -> None:
    """Turn a manifest's WAVs into Constant-Q image arrays.

    Writes OUT/{train,val,test,stress}.npy (N, n_bins, n_frames) float16 (memory-mappable
    with numpy.load(..., mmap_mode="r")), OUT/{split}.labels.npy int64, OUT/features.json
    (feature params, class order, counts, manifest rows) and OUT/preview.png.
    """
    params = load_params(params_file, "features", FeatureParams)
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise SongnetError(f"--device {device!r}: use auto, cpu or cuda")
    manifest = read_manifest(manifest_path)
    with bar(len(manifest), desc="features", unit="clip", quiet=quiet) as pbar:
        result = compute_features(manifest, root=manifest_path.parent, params=params,
                                  device=device, batch_size=batch_size, workers=workers,
                                  progress=pbar.update)
    meta = result.meta()
    meta["manifest"] = str(manifest_path)
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            np.save(tmp / f"{split}.npy", result.splits[split].images)
            np.save(tmp / f"{split}.labels.npy", result.splits[split].labels)
        write_json(tmp / "features.json", meta)
        preview_figure(result, per_class=preview_per_class).savefig(tmp / "preview.png",
                                                                    dpi=100)
    if not quiet:
        counts = ", ".join(f"{s} {n}" for s, n in meta["counts"].items())
        click.echo(f"wrote {out_dir}: {counts} images of {params.n_bins}x{params.n_frames}, "
                   f"{len(result.classes)} classes", err=True)
