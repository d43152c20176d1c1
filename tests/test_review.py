"""``songnet review``: the page is made from classify's events or a discover folder, and a
real browser (Chromium, driven by Playwright) plays a clip, marks items with the keyboard
and exports verified.csv."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import benchmark

from songnet.cli import main
from songnet.review.items import read_items
from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import sing
from songnet.surrogates.synthesize import SR
from songnet.surrogates.themes import load_catalog

CHROMIUM = os.environ.get("SONGNET_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    """Two recordings with three catalog songs each, classified to events.json."""
    folder = tmp_path_factory.mktemp("review")
    rng = np.random.default_rng(3)
    catalog = load_catalog()
    for f in range(2):
        parts = []
        for k in range(3):
            parts += [np.zeros(int(1.5 * SR), np.float32),
                      sing(catalog[(f * 3 + k) % len(catalog)], rng=rng)]
        y = np.concatenate([*parts, np.zeros(SR, np.float32)])
        y = cond.mix_at_snr(y, cond.coloured_noise(y.size, exponent=1.0, rng=rng),
                            snr_db=25.0, signal_rms=cond.rms(y[np.abs(y) > 0.01]))
        sf.write(folder / f"rec{f}.wav", (0.5 * y / np.abs(y).max()).astype(np.float32), SR)
    out = folder / "events.json"
    assert main(["classify", str(folder), "--format", "json", "-o", str(out), "-q"]) == 0
    return out


def _page(events: Path, out: Path) -> dict:
    assert main(["review", str(events), "-o", str(out), "-q"]) == 0
    html = (out / "index.html").read_text()
    tag = '<script id="data" type="application/json">'
    start = html.index(tag) + len(tag)
    return json.loads(html[start:html.index("</script>", start)])


def test_the_page_holds_every_event_with_its_clip_and_image(events, tmp_path):
    data = _page(events, tmp_path / "review")
    n = len(json.loads(events.read_text()))
    assert n == 6 and len(data["items"]) == n and data["kind"] == "events"
    for it in data["items"]:
        clip, sr = sf.read(tmp_path / "review" / it["clip"])
        assert sr == 22050
        assert clip.size / sr == pytest.approx(it["end_s"] - it["start_s"] + 2.0, abs=0.05)
        assert (tmp_path / "review" / it["image"]).stat().st_size > 1000
    assert {"T01", "T02", "T11"} <= set(data["themes"])
    size = sum(p.stat().st_size for p in (tmp_path / "review").rglob("*") if p.is_file())
    minutes = sum(it["end_s"] - it["start_s"] + 2.0 for it in data["items"]) / 60
    assert size / minutes < 2**20  # under 1 MB per minute of reviewed clips, page included


def test_a_verified_csv_in_the_output_is_read_back(events, tmp_path):
    out = tmp_path / "review"
    first = _page(events, out)["items"][0]
    (out / "verified.csv").write_text(
        "file,start_s,end_s,predicted,verdict,theme\n"
        f"{first['file']},{first['start_s']:.3f},{first['end_s']:.3f},{first['predicted']},"
        "theme,T07\n")
    again = _page(events, out)
    assert again["verified"][0]["theme"] == "T07"
    assert (out / "verified.csv").exists()


def test_a_discover_folder_is_reviewed_by_group(tmp_path):
    folder = tmp_path / "disc"
    folder.mkdir()
    rec = tmp_path / "rec.wav"
    rng = np.random.default_rng(0)
    y = np.concatenate([np.zeros(SR, np.float32), sing(load_catalog()[0], rng=rng),
                        np.zeros(SR, np.float32)])
    sf.write(rec, y, SR)
    (folder / "discover.csv").write_text(
        "song,source,start_s,end_s,group,distance_to_centre,p_song,found_by,n_notes,notes,"
        "trill_interval_ms,trill_count\n"
        f"D01/x.wav,{rec},1.1,2.9,D01,0.0,0.99,network,2,\"2 notes, then a trill\",68,15\n")
    items, kind = read_items(folder)
    assert kind == "discover" and items[0].predicted == "D01" and items[0].notes
    assert main(["review", str(folder), "-o", str(tmp_path / "review"), "-q"]) == 0


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "JSON list of events"),
    ("{not json", "not valid JSON"),
    ('[{"file": "x.wav", "start_s": 3, "end_s": 1}]', "0 <= start_s < end_s"),
    ('[{"file": "missing.wav", "start_s": 1, "end_s": 2, "theme": "T01"}]', "missing.wav"),
])
def test_bad_events_give_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "events.json"
    bad.write_text(content)
    assert main(["review", str(bad), "-o", str(tmp_path / "review")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "review").exists()


def _playwright():
    """Playwright's sync API, or a skip (a failure in CI) where it or Chromium is missing."""
    required = bool(os.environ.get("SONGNET_REQUIRE_BROWSER"))  # CI: fail, never skip
    try:
        from playwright import sync_api
    except ImportError:
        if required:
            raise
        pytest.skip("Playwright is not installed (pip install playwright) for the browser test")
    if not Path(CHROMIUM).exists():
        message = (f"no Chromium at {CHROMIUM}: apt-get install chromium (or set "
                   "SONGNET_CHROMIUM to a Chromium binary) to run the browser test")
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return sync_api


def test_in_a_real_browser_play_mark_and_export(events, tmp_path):
    sync_api = _playwright()
    out = tmp_path / "review"
    data = _page(events, out)
    items = sorted(data["items"], key=lambda it: (it["file"], it["start_s"]))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "index.html").as_uri())
        assert page.locator(".item").count() == len(items)
        page.locator(".item .play").first.click()
        page.wait_for_function("document.getElementById('player').currentTime > 0.2",
                               timeout=10_000)
        page.keyboard.press("Space")  # pause
        page.keyboard.press("c")      # item 1 correct
        page.keyboard.press("w")      # item 2 wrong
        third_theme = data["themes"][1]
        page.keyboard.press("2")      # item 3: the second theme of the list
        with page.expect_download() as dl:
            page.keyboard.press("e")
        rows = list(csv.DictReader(Path(dl.value.path()).read_text().splitlines()))
        page.reload()  # verdicts survive a reload (kept in the browser)
        assert page.locator(".verdict.correct").count() == 1
        page.select_option("#f-verdict", "none")
        assert page.locator(".item").count() == len(items) - 3
        page.click("#groups")     # ticked with the mouse: the box had the keys
        page.keyboard.press("c")  # and gives them back to marking
        page.select_option("#f-verdict", "")
        assert page.locator(".verdict.correct").count() == 2
        browser.close()
    assert not errors
    assert [(r["verdict"], r["theme"]) for r in rows] == [
        ("correct", items[0]["predicted"]), ("wrong", ""), ("theme", third_theme)]
    assert [float(r["start_s"]) for r in rows] == [it["start_s"] for it in items[:3]]


def _verdicts(events: Path, marks: list[tuple[str, str]]) -> str:
    """verified.csv text marking the first events (in file and time order)."""
    evs = sorted(json.loads(events.read_text()), key=lambda e: (e["file"], e["start_s"]))
    lines = ["file,start_s,end_s,predicted,verdict,theme"]
    for ev, (verdict, theme) in zip(evs, marks, strict=False):
        lines.append(f"{ev['file']},{ev['start_s']:.3f},{ev['end_s']:.3f},{ev['theme']},"
                     f"{verdict},{theme}")
    return "\n".join(lines) + "\n"


def test_classify_reports_precision_against_the_verdicts(events, tmp_path, capsys):
    verified = tmp_path / "verified.csv"
    verified.write_text(_verdicts(events, [("correct", ""), ("theme", "T09"), ("wrong", "")]))
    folder = events.parent
    assert main(["classify", str(folder / "rec0.wav"), "--verified", str(verified),
                 "-o", str(tmp_path / "ev.csv"), "--format", "csv", "-q"]) == 0
    err = capsys.readouterr().err
    assert "verified: 3 of 3 events lie on verified songs" in err
    rows = {line.split()[0]: line.split()[1:] for line in err.splitlines()
            if line[:3] in ("T01", "T02", "T03", "all")}
    assert rows["T01"] == ["1", "1", "1.00"] and rows["T02"] == ["1", "0", "0.00"]
    assert rows["all"] == ["3", "1", "0.33"]


@pytest.mark.parametrize("content, message", [
    ("file,start_s,end_s\nx.wav,1,2\n", "needs the columns"),
    ("file,start_s,end_s,predicted,verdict,theme\nx.wav,1,2,T01,maybe,\n", "verdict 'maybe'"),
    ("file,start_s,end_s,predicted,verdict,theme\nx.wav,2,1,T01,correct,\n", "start_s < end_s"),
    ("file,start_s,end_s,predicted,verdict,theme\nx.wav,1,2,T01,theme,\n", "theme's name"),
])
def test_a_bad_verified_csv_gives_one_line(events, tmp_path, capsys, content, message):
    bad = tmp_path / "verified.csv"
    bad.write_text(content)
    assert main(["classify", str(events.parent / "rec0.wav"), "--verified", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_verified_songs_are_the_catalog_for_themes_learn_and_the_themes_stage(events,
                                                                             tmp_path,
                                                                             capsys):
    from songnet.surrogates.themes import load_catalog as load

    text = _verdicts(events, [("correct", ""), ("theme", "T01"), ("wrong", "")])
    verified = tmp_path / "verified.csv"
    verified.write_text(text)
    assert main(["themes", "learn", "--verified", str(verified), "-o",
                 str(tmp_path / "catalog"), "-q"]) == 0
    assert [t.name for t in load(tmp_path / "catalog")] == ["T01"]
    # both songs given T01 were learned (the one marked wrong was not): they are songs of
    # two catalog themes, so the learner keeps one and says why
    assert "theme T01: the songs disagree: kept 1 of 2 songs" in capsys.readouterr().err
    data_2020 = tmp_path / "data2020"
    (data_2020 / "T05").mkdir(parents=True)  # theme folders are ignored beside verified.csv
    shutil.copy(events.parent / "rec1.wav", data_2020 / "T05")
    (data_2020 / "verified.csv").write_text(text)
    assert main(["themes", "--recordings", str(data_2020), "-o", str(tmp_path / "stage"),
                 "-q"]) == 0
    assert [t.name for t in load(tmp_path / "stage")] == ["T01"]


def test_verified_songs_are_the_real_training_songs(events, tmp_path):
    from songnet.surrogates.realdata import read_recordings

    data_2020 = tmp_path / "data2020"
    (data_2020 / "T05").mkdir(parents=True)  # theme folders give way to verified.csv
    shutil.copy(events.parent / "rec1.wav", data_2020 / "T05")
    (data_2020 / "verified.csv").write_text(
        _verdicts(events, [("correct", ""), ("theme", "T01"), ("wrong", "")]))
    real = read_recordings(data_2020, themes=[f"T{k:02d}" for k in range(1, 12)])
    assert [(s.theme, Path(s.recording).name) for s in real.songs] == [("T01", "rec0.wav")] * 2
    evs = sorted(json.loads(events.read_text()), key=lambda e: (e["file"], e["start_s"]))
    assert [round(s.start_s) for s in real.songs] == [round(e["start_s"]) for e in evs[:2]]
    assert real.backgrounds  # the song-free stretches of rec0 (the wrong song kept out)
    assert all(src.endswith("rec0.wav") for src in real.background_sources)


@pytest.mark.slow
def test_a_review_of_a_soundscape_in_the_browser(real_birds, tmp_path):
    """A scene of the soundscape benchmark (songs of every kind among other species and
    noise), classified and reviewed; ``SONGNET_REVIEW_SCREENSHOT=docs/review.png`` keeps a
    screenshot (the README's)."""
    sync_api = _playwright()
    soundscape = benchmark("soundscape")
    rng = np.random.default_rng(11)
    negatives = [(p.stem.split("-")[1], sf.read(p, dtype="float32")[0])
                 for p in real_birds.NEGATIVES]
    y, _ = soundscape.scene(60.0, rng=rng, pool=soundscape.song_pool(rng),
                             negatives=negatives)
    wav = tmp_path / "soundscape.wav"
    sf.write(wav, y, soundscape.SR, subtype="PCM_16")
    events = tmp_path / "events.json"
    assert main(["classify", str(wav), "--format", "json", "-o", str(events), "-q"]) == 0
    data = _page(events, tmp_path / "review")
    assert len(data["items"]) >= 3
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(accept_downloads=True, viewport={"width": 1200, "height": 900})
        page.goto((tmp_path / "review" / "index.html").as_uri())
        assert page.locator(".item").count() == len(data["items"])
        page.keyboard.press("c")
        page.keyboard.press("w")
        if os.environ.get("SONGNET_REVIEW_SCREENSHOT"):
            page.screenshot(path=os.environ["SONGNET_REVIEW_SCREENSHOT"])
        with page.expect_download() as dl:
            page.click("#export")
        rows = list(csv.DictReader(Path(dl.value.path()).read_text().splitlines()))
        browser.close()
    assert [r["verdict"] for r in rows] == ["correct", "wrong"]
