"""A gallery to look at: every test image under every system, side by side, in one static
HTML page that opens offline (no server, no external resource) and inside the report.

For each test image: the gray input (the ``gray`` baseline), the other baselines, each variant
of the study (its first seed's colorization) and the ground truth, as thumbnails with the
image's scores under each; a click opens a larger view, where a slider compares it in place
with the ground truth or with the gray input. Images can be sorted by any system's score or by
the paired difference of any claim of the study (which images the claim's first system wins
most and loses most), filtered by category, and paged, so the page stays usable at 20,000
images (thumbnails load lazily). Scores are the study's: a variant's are its mean over seeds.

Layout of ``out_dir``: ``index.html`` (page, style and script inline), ``data.js`` (the
images, systems, scores and claims), ``thumbs/<system>/<n>.jpg`` and ``views/<system>/<n>.jpg``
(longer side ``thumb_size`` and ``view_size``; ``n`` is the image's number in ``data.js``).
"""

from __future__ import annotations

import html
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from .color import rgb_to_yuv
from .files import atomic_path
from .images import load_rgb
from .systems import BASELINES, EXTERNAL, MODEL, baseline_rgb, label, order, per_image

log = logging.getLogger(__name__)

#: The column of the ground truth (not a system: what every system is scored against).
TRUTH = "truth"
#: Scores shown under each thumbnail, in this order.
SHOWN = ("qssim", "psnr", "colourfulness")


def _resized(rgb: np.ndarray, longer: int) -> Image.Image:
    im = Image.fromarray(rgb)
    if longer and max(im.size) > longer:
        scale = longer / max(im.size)
        size = (max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS)
    return im


def _columns(scores) -> list[str]:
    """The baselines (the gray input first: the registry's order), the variants, the
    external systems and peers (in the study's order), then the ground truth."""
    variants = order(scores.loc[scores["method"] == MODEL, "variant"].tolist())
    external = list(dict.fromkeys(scores.loc[scores["method"] == EXTERNAL, "variant"]))
    return [*[b for b in BASELINES if b in set(scores["method"])], *variants, *external, TRUTH]


def _render(job) -> None:
    """Write the thumbnail and the view of every column of one image."""
    n, original, pngs, stats, out, thumb_size, view_size = job
    truth = np.asarray(load_rgb(original))
    y = None
    for column, png in pngs.items():
        if column == TRUTH:
            rgb = truth
        elif column in BASELINES:
            y = rgb_to_yuv(truth)[..., 0] if y is None else y
            rgb = baseline_rgb(column, y, stats)
        else:
            rgb = np.asarray(Image.open(png).convert("RGB"))
        for kind, size, quality in (("thumbs", thumb_size, 85), ("views", view_size, 90)):
            path = out / kind / column / f"{n}.jpg"
            with atomic_path(path) as tmp:
                _resized(rgb, size).save(tmp, format="JPEG", quality=quality)


def gallery_data(scores, claims, columns: list[str]) -> dict:
    """What the page shows: every image scored by every system (sorted by name), with its
    scores under every column (variants averaged over their seeds) and the paired difference
    of every claim; per claim its verdict."""
    wide = {m: per_image(scores, m) for m in SHOWN}
    images = list(wide["qssim"].index)
    category = scores.drop_duplicates("image").set_index("image")["category"]

    def value(m, image, column):
        v = wide[m].at[image, column] if column in wide[m] else np.nan
        return None if not np.isfinite(v) else round(float(v), 5)

    claim_rows = []
    for _, c in claims.iterrows():
        a, b = c["comparison"].split(" − ")
        delta = float(c["delta"]) if np.isfinite(c["delta"]) else None
        claim_rows.append(
            {"claim": c["claim"], "a": a, "b": b, "verdict": c["verdict"], "delta": delta}
        )
    rows = []
    for image in images:
        row = {"image": image, "category": category[image], "scores": {}, "diff": []}
        for column in columns:
            if column != TRUTH:
                row["scores"][column] = {m: value(m, image, column) for m in SHOWN}
        for c in claim_rows:
            a, b = (wide["qssim"].at[image, s] for s in (c["a"], c["b"]))
            row["diff"].append(round(float(a - b), 6))
        rows.append(row)
    return {
        "columns": [
            {"id": c, "label": "ground truth" if c == TRUTH else label(c)} for c in columns
        ],
        "metrics": list(SHOWN),
        "claims": claim_rows,
        "images": rows,
    }


def build_gallery(
    out_dir,
    scores,
    claims,
    originals: dict[str, str],
    colorized: dict[str, dict[str, str]],
    stats: dict,
    *,
    thumb_size: int = 160,
    view_size: int = 1024,
    per_page: int = 48,
    threads: int = 1,
    title: str = "colorcnn gallery",
) -> dict:
    """Write the gallery into ``out_dir`` (see the module's docstring).

    ``scores`` and ``claims`` are the study's tables; ``originals`` maps each test image to its
    file; ``colorized`` maps each variant to its PNGs by image (one seed's); ``stats`` is the
    training set's chroma (for the mean-chroma baseline). Returns the page's data."""
    out = Path(out_dir)
    columns = _columns(scores)
    data = gallery_data(scores, claims, columns)
    data.update(title=title, per_page=per_page)
    images = [row["image"] for row in data["images"]]
    made = [c for c in columns if c not in BASELINES and c != TRUTH]  # a colorizer's files
    missing = [(v, i) for v in made for i in images if i not in colorized.get(v, {})]
    if missing:
        raise ValueError(
            f"{len(missing)} colorizations (variant, image) are missing: {missing[:3]}"
        )
    jobs = []
    for n, image in enumerate(images):
        pngs = {c: colorized.get(c, {}).get(image) for c in columns}
        jobs.append((n, originals[image], pngs, stats, out, thumb_size, view_size))
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for _ in pool.map(_render, jobs):
            pass
    with atomic_path(out / "data.js") as tmp:
        tmp.write_text("window.GALLERY = " + json.dumps(data, allow_nan=False) + ";\n")
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(PAGE.replace("{title}", html.escape(title)))
    log.info("gallery of %d images x %d columns in %s", len(images), len(columns), out)
    return data


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:.6em 1em;
 z-index:2;display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:center}
h1{font-size:1.1em;margin:0 1em 0 0}
label{font-size:.9em}
select,button,input{font:inherit}
#claims{padding:.4em 1em;font-size:.9em}
#claims li{margin:.2em 0}
#grid{padding:.5em 1em}
.row{padding:.6em 0;border-bottom:1px solid #e5e5e5}
.figs{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(120px,1fr);gap:.5em;
 overflow-x:auto}
.name{font-size:.85em;color:#555;margin-bottom:.3em;overflow-wrap:anywhere}
figure{margin:0;text-align:center}
figure button{border:2px solid transparent;padding:0;background:none;cursor:zoom-in}
figure button:focus{border-color:#1b6ac9;outline:none}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.75em;line-height:1.25}
.sys{font-weight:600}
#pager{padding:.5em 1em 2em}
#viewer{position:fixed;inset:0;background:rgba(0,0,0,.88);display:none;z-index:5;color:#fff}
#viewer.open{display:flex;flex-direction:column;align-items:center;justify-content:center}
#stage{position:relative;max-width:95vw;max-height:80vh}
#stage img{max-width:95vw;max-height:80vh;display:block}
#over{position:absolute;left:0;top:0;overflow:hidden;height:100%}
#over img{max-width:none}
#vbar{margin:.6em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
</style></head>
<body>
<header>
 <h1>{title}</h1>
 <label>sort <select id="sort"></select></label>
 <label>category <select id="cat"><option value="">all</option></select></label>
 <span id="count" aria-live="polite"></span>
</header>
<ul id="claims"></ul>
<main id="grid"></main>
<nav id="pager" aria-label="pages"></nav>
<div id="viewer" role="dialog" aria-modal="true" aria-label="larger view">
 <div id="stage"><img id="base" alt=""><div id="over"><img id="top" alt=""></div></div>
 <div id="vbar">
  <span id="vtitle"></span> <span id="note"></span>
  <label>compare with <select id="against"><option value="truth">ground truth</option>
   <option value="gray">gray input</option><option value="">nothing</option></select></label>
  <input id="slider" type="range" min="0" max="100" value="50" aria-label="comparison split">
  <button id="prev">&larr; previous</button><button id="next">next &rarr;</button>
  <button id="close">close (Esc)</button>
 </div>
</div>
<script src="data.js"></script>
<script>
"use strict";
const G = window.GALLERY, S = {sort: "name", cat: "", page: 0, order: []};
const $ = id => document.getElementById(id);
const fmt = (m, v) => v === null ? "n/a" : m === "qssim" ? v.toFixed(3) : v.toFixed(1);
function sortKeys() {
  const keys = [["name", "image name"]];
  G.claims.forEach((c, k) => {
    keys.push(["claim:" + k + ":desc", c.a + " \\u2212 " + c.b + ": " + c.a + " wins most first"]);
    keys.push(["claim:" + k + ":asc", c.a + " \\u2212 " + c.b + ": " + c.a + " loses most first"]);
  });
  G.columns.filter(c => c.id !== "truth").forEach(c => G.metrics.forEach(m => {
    keys.push(["score:" + c.id + ":" + m, c.label + " " + m + ", highest first"]);
  }));
  return keys;
}
function arrange() {
  let idx = G.images.map((_, i) => i).filter(i => !S.cat || G.images[i].category === S.cat);
  const [kind, a, b] = S.sort.split(":");
  if (kind === "claim") {
    const s = b === "asc" ? 1 : -1;
    idx.sort((i, j) => s * (G.images[i].diff[a] - G.images[j].diff[a]));
  } else if (kind === "score") {
    const v = i => G.images[i].scores[a][b] ?? -Infinity;
    idx.sort((i, j) => v(j) - v(i));
  }
  S.order = idx;
}
function figureFor(i, c) {
  const im = G.images[i], f = document.createElement("figure");
  const btn = document.createElement("button"), img = document.createElement("img");
  img.src = "thumbs/" + c.id + "/" + i + ".jpg";
  img.alt = im.image + " \\u2014 " + c.label;
  img.loading = "lazy";
  btn.appendChild(img);
  btn.onclick = () => openViewer(i, c.id);
  const cap = document.createElement("figcaption"), sc = im.scores[c.id];
  const lines = sc ? G.metrics.map(m => m + " " + fmt(m, sc[m])).join("<br>") : "";
  cap.innerHTML = '<span class="sys"></span><br>' + lines;
  cap.firstChild.textContent = c.label;
  f.append(btn, cap);
  return f;
}
function render() {
  const grid = $("grid"), per = G.per_page, pages = Math.max(1, Math.ceil(S.order.length / per));
  S.page = Math.min(S.page, pages - 1);
  grid.replaceChildren();
  S.order.slice(S.page * per, (S.page + 1) * per).forEach(i => {
    const row = document.createElement("section"), name = document.createElement("div");
    row.className = "row"; row.dataset.image = G.images[i].image;
    name.className = "name";
    const diffs = G.claims
      .map((c, k) => c.a + "\\u2212" + c.b + " " + G.images[i].diff[k].toFixed(4))
      .join(" \\u00b7 ");
    name.textContent = G.images[i].image + " (" + G.images[i].category + ")  " + diffs;
    const figs = document.createElement("div");
    figs.className = "figs";
    G.columns.forEach(c => figs.appendChild(figureFor(i, c)));
    row.append(name, figs);
    grid.appendChild(row);
  });
  $("count").textContent = S.order.length + " images, page " + (S.page + 1) + " of " + pages;
  const pager = $("pager");
  pager.replaceChildren();
  for (let p = 0; p < pages; p++) {
    const b = document.createElement("button");
    b.textContent = p + 1; b.disabled = p === S.page;
    b.onclick = () => { S.page = p; render(); scrollTo(0, 0); };
    pager.appendChild(b);
  }
}
function update() { arrange(); render(); }
let V = null;
function openViewer(i, col) {
  V = {pos: S.order.indexOf(i), col};
  $("viewer").classList.add("open");
  showView();
  $("close").focus();
}
function showView() {
  const i = S.order[V.pos], im = G.images[i], c = G.columns.find(c => c.id === V.col);
  const against = $("against").value;
  $("note").textContent = "";
  view($("base"), V.col, i);
  $("base").alt = im.image + " \\u2014 " + c.label;
  const top = $("top"), over = $("over");
  if (against && against !== V.col) {
    view(top, against, i);
    top.alt = im.image + " \\u2014 " + (against === "truth" ? "ground truth" : "gray input");
    over.style.display = "block";
  } else { over.style.display = "none"; }
  split();
  const left = against && against !== V.col ? $("against").selectedOptions[0].text : "";
  $("vtitle").textContent = im.image + ": " + c.label + (left ? " (left: " + left + ")" : "");
}
function view(img, col, i) {
  // the larger view; where it is not there (a committed copy holds thumbnails only), the thumbnail
  img.onerror = () => {
    img.onerror = null;
    img.src = "thumbs/" + col + "/" + i + ".jpg";
    $("note").textContent = "(thumbnail: larger views come with a generated gallery only)";
  };
  img.src = "views/" + col + "/" + i + ".jpg";
}
function split() {
  const w = $("base").clientWidth, p = $("slider").value / 100;
  $("over").style.width = (w * p) + "px";
  $("top").style.width = w + "px";
}
function step(d) { V.pos = (V.pos + d + S.order.length) % S.order.length; showView(); }
function closeViewer() { $("viewer").classList.remove("open"); V = null; }
$("base").onload = split;
$("slider").oninput = split;
$("against").onchange = showView;
$("prev").onclick = () => step(-1);
$("next").onclick = () => step(1);
$("close").onclick = closeViewer;
document.addEventListener("keydown", e => {
  if (!V) return;
  if (e.key === "Escape") closeViewer();
  else if (e.key === "ArrowRight") step(1);
  else if (e.key === "ArrowLeft") step(-1);
});
sortKeys().forEach(([v, t]) => $("sort").add(new Option(t, v)));
[...new Set(G.images.map(im => im.category))].sort().forEach(c => $("cat").add(new Option(c, c)));
$("sort").onchange = e => { S.sort = e.target.value; S.page = 0; update(); };
$("cat").onchange = e => { S.cat = e.target.value; S.page = 0; update(); };
G.claims.forEach((c, k) => {
  const li = document.createElement("li");
  const mean = c.delta === null ? "n/a" : c.delta.toFixed(4);
  li.textContent = c.claim + " (" + c.a + " \\u2212 " + c.b + ", mean " + mean + ", "
    + c.verdict + "): ";
  [["worst", "asc", 0], ["median", "asc", 0.5], ["best", "desc", 0]].forEach(([name, dir, q]) => {
    const b = document.createElement("button");
    b.textContent = name;
    b.onclick = () => {
      S.sort = "claim:" + k + ":" + dir; S.cat = ""; $("sort").value = S.sort; $("cat").value = "";
      arrange();
      const pos = Math.floor(q * (S.order.length - 1));
      S.page = Math.floor(pos / G.per_page); render();
      openViewer(S.order[pos], c.a);
    };
    li.append(" ", b);
  });
  $("claims").appendChild(li);
});
update();
</script>
</body></html>
"""
