"""``songnet review EVENTS|DISCOVER_DIR -o REVIEW/``: a page to look at and listen to
every detection or discovered song, and mark it (:mod:`songnet.review.page`)."""

from __future__ import annotations

from pathlib import Path

import click

from songnet.cli.common import catalog_option, out_option, quiet_option, verbose_option
from songnet.core.files import atomic_dir, check_output_dir

__all__ = ["command"]


@click.command("review")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@out_option("Output folder: index.html, clips/ and images/ (replaced as a whole; a "
            "verified.csv inside it is read back into the new page).", required=True)
@catalog_option
@click.option("--title", default="", help="The page's title [default: what it lists].")
@quiet_option
@verbose_option
def command(source: Path, out: Path, catalog_dir: Path | None, title: str,
            quiet: bool) -> None:
    """Make a review page of SOURCE: `songnet classify` events (--format json or csv) or a
    `songnet themes discover` folder.

    Open OUT/index.html in a browser (no server, works offline): each song's Constant-Q
    image and a play button for its clip (a second of context either side), file and
    time, the theme with its confidence, the nearest theme and distances. Filter and
    sort; mark with the keyboard (c correct, w wrong, 1-9 a catalog theme, n a new theme),
    then export verified.csv. Its verdicts feed `songnet themes learn --verified` and
    `songnet classify --verified`.
    """
    from songnet.core.progress import bar
    from songnet.core.verified import read_verified
    from songnet.review.items import read_items
    from songnet.review.page import write_page
    from songnet.surrogates.themes import load_catalog

    items, kind = read_items(source)
    check_output_dir(out, inputs=[source, *{it.file for it in items}])
    verified = read_verified(out / "verified.csv") if (out / "verified.csv").is_file() else []
    themes = {t.name for t in load_catalog(catalog_dir)} if kind == "events" else set()
    themes |= {it.predicted for it in items} - {"unknown", "_unsorted", ""}
    with bar(len(items), desc="review", unit="song", quiet=quiet) as pbar, \
            atomic_dir(out) as tmp:
        write_page(tmp, items, kind=kind, themes=sorted(themes), verified=verified,
                   title=title, progress=pbar.update)
        if verified:
            (tmp / "verified.csv").write_bytes((out / "verified.csv").read_bytes())
    if not quiet:
        click.echo(f"wrote {out}/index.html: {len(items)} "
                   f"{'songs' if kind == 'discover' else 'events'} to review"
                   + (f", {len(verified)} verdicts read back" if verified else ""), err=True)
