"""``songnet sing``: one clean song of a theme to a WAV file."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import soundfile as sf

from songnet.cli.common import (
    catalog_option,
    common_options,
    load_optional_params,
    out_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, check_output_file
from songnet.surrogates.birds import sing
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import load_catalog, load_theme
from songnet.synth import SR


@click.command("sing")
@click.argument("theme")
@out_option("Output WAV file (44.1 kHz, 24-bit).", required=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the bird and the rendition.")
@catalog_option
@common_options
def command(theme: str, out: Path, seed: int, catalog_dir: Path | None,
            params_file: Path, quiet: bool) -> None:
    """Synthesize one song of THEME (a catalog name, or a theme YAML file) to a WAV file.

    Bird and rendition variation follow the [synthesize] section of --params when the file
    has one (the defaults without it); no noise is added.
    """
    check_output_file(out, inputs=[params_file] + ([theme] if theme.endswith((".yaml", ".yml"))
                                                   else []))
    if theme.endswith((".yaml", ".yml")):
        chosen = load_theme(theme)
    else:
        themes = {t.name: t for t in load_catalog(catalog_dir)}
        if theme not in themes:
            raise SongnetError(f"unknown theme {theme!r}; known themes: "
                               f"{', '.join(themes)} (see 'songnet themes')")
        chosen = themes[theme]
    params = load_optional_params(params_file, "synthesize", SynthesizeParams)
    y = sing(chosen, rng=np.random.default_rng(seed), params=params)
    with atomic_path(out) as tmp:
        sf.write(tmp, y, SR, subtype="PCM_24", format="WAV")
    if not quiet:
        click.echo(f"wrote {out}: theme {chosen.name}, {y.size / SR:.2f} s", err=True)
