"""The gallery: every test image under every system, thumbnails and views on disk, the
page's data, and the page itself in headless Chromium (colorcnn.gallery)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from colorcnn import study
from colorcnn.gallery import TRUTH, build_gallery
from colorcnn.systems import per_image
from colorcnn.testimages import natural_rgb

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
THUMB = 48


def write_images(tmp_path, scores, systems, fixed=None):
    """Each scored image's original and its colorization by each system (``fixed``: one
    image for all of a system's)."""
    originals, colorized = {}, {v: {} for v in systems}
    for k, image in enumerate(sorted(scores["image"].unique())):
        originals[image] = tmp_path / "truth" / image
        originals[image].parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_rgb(60, 90, k)).save(originals[image], format="PNG")
        for v in systems:
            colorized[v][image] = tmp_path / v / f"{k}.png"
            colorized[v][image].parent.mkdir(exist_ok=True)
            rgb = (fixed or {}).get(v, natural_rgb(60, 90, k + 100))
            Image.fromarray(rgb).save(colorized[v][image])
    return originals, colorized


@pytest.fixture
def gallery(tmp_path, scores):
    claims = study.claims_table(scores, {"paper": "", "mse": "mse claim"}, "paper", n_resamples=200)
    originals, colorized = write_images(tmp_path, scores, ("paper", "mse"))
    stats = {"mean_u": 120.0, "mean_v": 135.0}
    out = tmp_path / "gallery"
    data = build_gallery(
        out, scores, claims, originals, colorized, stats, thumb_size=THUMB, view_size=80,
        per_page=5, threads=2,
    )  # fmt: skip
    return out, data, scores, claims


def test_every_image_under_every_system_with_its_scores(gallery):
    out, data, scores, _ = gallery
    columns = [c["id"] for c in data["columns"]]
    assert columns == ["gray", "mean_chroma", "paper", "mse", TRUTH]
    assert len(data["images"]) == 12
    for n in range(12):
        for c in columns:
            thumb = Image.open(out / "thumbs" / c / f"{n}.jpg")
            view = Image.open(out / "views" / c / f"{n}.jpg")
            assert max(thumb.size) == THUMB and max(view.size) == 80, (c, n)
    text = (out / "data.js").read_text()
    assert text.startswith("window.GALLERY = ") and json.loads(text[17:-2]) == data
    # the gray input is the image's own Y, the mean chroma its Y with the training set's tint
    gray = np.asarray(Image.open(out / "views" / "gray" / "0.jpg")).astype(int)
    assert np.abs(gray[..., 0] - gray[..., 2]).max() <= 2
    tint = np.asarray(Image.open(out / "views" / "mean_chroma" / "0.jpg")).astype(float)
    # R - B = 1.402 (V - 128) - 1.772 (U - 128) = 9.8 + 14.2 levels: warm, not blue
    assert (tint[..., 0] - tint[..., 2]).mean() == pytest.approx(24.0, abs=1.5)


def test_scores_and_paired_differences_are_the_studys(gallery):
    _, data, scores, claims = gallery
    wide = per_image(scores, "qssim")
    k = list(claims["comparison"]).index("paper − mse")
    for row in data["images"]:
        image = row["image"]
        assert row["scores"]["paper"]["qssim"] == pytest.approx(wide.at[image, "paper"], abs=1e-5)
        expected = wide.at[image, "paper"] - wide.at[image, "mse"]
        assert row["diff"][k] == pytest.approx(expected, abs=1e-6)
    assert [c["a"] + " − " + c["b"] for c in data["claims"]] == list(claims["comparison"])


def test_a_missing_colorization_is_refused(tmp_path, scores):
    claims = study.claims_table(scores, {"paper": ""}, "paper", n_resamples=200)
    with pytest.raises(ValueError, match=r"24 colorizations \(variant, image\) are missing"):
        build_gallery(tmp_path, scores, claims, {}, {"paper": {}, "mse": {}}, {})


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_page_in_headless_chromium(gallery, tmp_path):
    """Every image loads, no console error, sorting by a claim puts the expected image first,
    the viewer opens and steps with the keyboard; a screenshot is taken."""
    playwright = pytest.importorskip("playwright.sync_api")
    out, data, _, claims = gallery
    k = list(claims["comparison"]).index("paper − mse")
    best = max(data["images"], key=lambda r: r["diff"][k])["image"]
    worst = min(data["images"], key=lambda r: r["diff"][k])["image"]
    errors = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 860})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")

        def all_loaded():
            page.evaluate(
                "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
            )
            page.wait_for_function("[...document.images].every(i => !i.src || i.complete)")
            return page.evaluate(
                "[...document.querySelectorAll('#grid img')].map(i => [i.alt, i.naturalWidth])"
            )

        shown = all_loaded()
        assert len(shown) == 5 * 5 and all(w > 0 for _, w in shown), shown  # 5 per page
        assert shown[0][0] == data["images"][0]["image"] + " — gray (U=V=128)"
        page.select_option("#sort", f"claim:{k}:desc")
        assert page.locator("#grid .row").first.get_attribute("data-image") == best
        page.select_option("#sort", f"claim:{k}:asc")
        assert page.locator("#grid .row").first.get_attribute("data-image") == worst
        assert all(w > 0 for _, w in all_loaded())
        page.locator("#grid .row").first.locator("figure button").nth(2).click()  # paper
        page.wait_for_function("document.getElementById('base').naturalWidth > 0")
        assert "views/paper/" in page.get_attribute("#base", "src")
        assert page.locator("#viewer").is_visible() and "(left: ground truth)" in page.inner_text(
            "#vtitle"
        )
        page.keyboard.press("ArrowRight")
        assert page.inner_text("#vtitle").startswith(
            page.locator("#grid .row").nth(1).get_attribute("data-image")
        )
        page.screenshot(path=str(tmp_path / "viewer.png"))
        page.keyboard.press("Escape")
        assert not page.locator("#viewer").is_visible()
        page.locator("#pager button").nth(2).click()
        assert all(w > 0 for _, w in all_loaded()) and "page 3 of 3" in page.inner_text("#count")
        page.screenshot(path=str(tmp_path / "gallery.png"), full_page=False)
        browser.close()
    assert errors == []
    assert Image.open(tmp_path / "gallery.png").size == (1366, 860)
    if os.environ.get("COLORCNN_SCREENSHOT"):  # keep the screenshot: COLORCNN_SCREENSHOT=path
        shutil.copy(tmp_path / "gallery.png", os.environ["COLORCNN_SCREENSHOT"])


def test_external_systems_and_peers_are_columns_of_the_gallery(tmp_path, scores):
    import pandas as pd

    ext = scores[(scores["variant"] == "mse") & (scores["seed"] == 1)].copy()
    ext["method"], ext["variant"], ext["seed"] = "external", "ddcolor", np.nan
    ext["qssim"] += 0.05
    scores = pd.concat([scores, ext], ignore_index=True)
    claims = study.claims_table(scores, {"paper": ""}, "paper", n_resamples=200,
                                external={"ddcolor": "ddcolor claim"})  # fmt: skip
    red = {"ddcolor": np.full((60, 90, 3), (200, 30, 30), np.uint8)}
    originals, colorized = write_images(tmp_path, scores, ("paper", "mse", "ddcolor"), red)
    out = tmp_path / "gallery"
    data = build_gallery(out, scores, claims, originals, colorized, {"mean_u": 1, "mean_v": 1},
                         thumb_size=THUMB, view_size=80, threads=2)  # fmt: skip
    assert [c["id"] for c in data["columns"]] == ["gray", "mean_chroma", "paper", "mse",
                                                  "ddcolor", TRUTH]  # fmt: skip
    red = np.asarray(Image.open(out / "views" / "ddcolor" / "0.jpg")).astype(int)
    assert abs(red[..., 0].mean() - 200) < 3 and abs(red[..., 1].mean() - 30) < 3
    wide = per_image(scores, "qssim")
    row = data["images"][0]
    assert row["scores"]["ddcolor"]["qssim"] == round(float(wide.at[row["image"], "ddcolor"]), 5)
    with pytest.raises(ValueError, match="missing"):
        del colorized["ddcolor"][row["image"]]
        build_gallery(tmp_path / "g2", scores, claims, originals, colorized, {})
