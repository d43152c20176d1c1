"""``songnet features``: a manifest's clips -> Constant-Q image arrays, one per split."""

from __future__ import annotations

from pathlib import Path

import click

from songnet.cli.common import common_options, device_option, out_option
from songnet.core.device import resolve_device
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.params import check_workers, load_params
from songnet.core.progress import bar
from songnet.features.featureset import compute_features, save_features
from songnet.features.params import FeatureParams
from songnet.surrogates.cliplength import clip_length
from songnet.surrogates.synthesize import load_manifest


@click.command("features")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("data/surrogates/manifest.csv"), show_default=True,
              help="Manifest CSV (path, theme, split); paths are relative to its folder.")
@out_option("Output folder, replaced as a whole when complete.", default=Path("data/features"))
@device_option()
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Clips per batched transform.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads reading and resampling audio (at most the CPUs).")
@click.option("--preview-per-class", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Images per class in preview.png.")
@common_options
def command(manifest_path: Path, out: Path, device: str, batch_size: int, workers: int,
            preview_per_class: int, params_file: Path, quiet: bool) -> None:
    """Turn a manifest's WAVs into Constant-Q image arrays.

    Writes OUT/{train,val,test,stress}.npy (N, n_bins, n_frames) float16 (memory-mappable
    with numpy.load(..., mmap_mode="r")), OUT/{split}.labels.npy int64, OUT/features.json
    (feature params, class order, counts, manifest rows) and OUT/preview.png. Images last
    [features] window_s, or as long as the clips of a surrogate manifest whose duration_s
    is longer (a note says so).
    """
    params = load_params(params_file, "features", FeatureParams)
    resolve_device(device)  # a bad name fails before any work
    check_output_dir(out, inputs=[manifest_path, params_file])
    check_workers(workers, floor=2)
    manifest = load_manifest(manifest_path)
    asked = params.window_s
    params = params.for_clips(clip_length(manifest))
    if params.window_s != asked:
        click.echo(f"note: the clips of {manifest_path} last {params.window_s:g} s, longer "
                   f"than features.window_s={asked:g}: images of {params.window_s:g} s",
                   err=True)
    with bar(len(manifest), desc="features", unit="clip", quiet=quiet) as pbar:
        result = compute_features(manifest, root=manifest_path.parent, params=params,
                                  device=device, batch_size=batch_size, workers=workers,
                                  progress=pbar.update)
    with atomic_dir(out) as tmp:
        meta = save_features(result, tmp, manifest=str(manifest_path),
                             preview_per_class=preview_per_class)
    if not quiet:
        counts = ", ".join(f"{s} {n}" for s, n in meta["counts"].items())
        click.echo(f"wrote {out}: {counts} images of {params.n_bins}x{params.n_frames}, "
                   f"{len(result.classes)} classes", err=True)
