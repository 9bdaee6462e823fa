r"""Open every page of the built HTML book in headless Chromium and check what a reader sees.

For each page: no JavaScript error from the book's own files (errors of CDN scripts are
listed, not counted: the check runs offline, with every network host blocked); every image
loaded; no cell output shows a traceback or an error; every figure is an image (not
missing, not a ``<Figure ...>`` text); every explorer has a visible static
rendering with loaded images; every equation is typeset without a TeX error, and no raw
``\(``, ``\[`` or ``$$`` is left in the page's text (the book's MathJax comes from a CDN,
which the offline check cannot reach, so the check loads MathJax 3 from
``tests/fixtures/mathjax``, with undefined macros made errors); no figure, stylesheet or
script comes from the network except MathJax; one ``h1`` and no skipped heading level; and
the sidebar lists the chapters of ``_toc.yml`` in order, under their titles. A screenshot
of each page goes to ``--screenshots``. The link and Colab checks of
``tools/link_check.py`` run too.

``python tools/browser_check.py [_build/html] [--root .] [--screenshots _build/screenshots]``
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

if __package__ in (None, ""):  # run as a script: make the tools package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools import link_check

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]  # offline: no host resolves
# Scripts a page may take from the network: MathJax (the TeX stays in the page) and the live
# widget manager that book/_static/reid-widgets.js adds (each explorer's static view stays).
ALLOWED_SCRIPTS = (
    "https://cdn.jsdelivr.net/npm/mathjax@",
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/",
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@",
)
STATIC_CLASS = "reid-explorer-static"  # reidlib.widgets.STATIC_CLASS
MATHJAX = ROOT / "tests" / "fixtures" / "mathjax" / "es5" / "tex-chtml.js"  # npm's mathjax@3.2.2
SCREENSHOT_MAX_HEIGHT = 16000  # px; longer pages are cut

# One probe per page, run in the browser after every image has settled.
PROBE = r"""
const visible = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
const loaded = img => img.complete && img.naturalWidth > 0;
const text = el => { const c = el.cloneNode(true); c.querySelectorAll('.headerlink').forEach(a => a.remove());
  return c.textContent.replace(/\s+/g, ' ').trim(); };
const outText = e => (e.querySelector('pre') || e).textContent;   // without the copy button's label
const article = document.querySelector('article.bd-article') || document.body;
return {
  images: [...document.images].map(i => ({src: i.getAttribute('src').slice(0, 120), ok: loaded(i)})),
  tracebacks: [...article.querySelectorAll('.cell_output .traceback, .cell_output .output.error')]
      .map(e => outText(e).trim().split('\n').slice(-1)[0].slice(0, 200)),
  outputs: [...article.querySelectorAll('.cell_output .output')].map(outText),
  blank_figures: [...article.querySelectorAll('div.cell')].filter(c => /plt\.show\(\)/.test(
      (c.querySelector('.cell_input') || {textContent: ''}).textContent) && !c.querySelector('.cell_output img'))
      .map(c => c.querySelector('.cell_input').textContent.trim().split('\n')[0].slice(0, 80)),
  explorers: [...article.querySelectorAll('.__STATIC__')].map(e => ({
      visible: visible(e), images: e.querySelectorAll('img').length,
      shown: [...e.querySelectorAll('img')].filter(i => loaded(i) && visible(i)).length})),
  math: [...article.querySelectorAll('.math')].map(e => e.textContent.trim()),
  headings: [...article.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => [+h.tagName[1], text(h)]),
  nav: [...document.querySelectorAll('nav.bd-docs-nav .caption-text, nav.bd-docs-nav li.toctree-l1 > a')]
      .map(a => a.tagName === 'A' ? [a.href, text(a)] : [null, text(a)]),
  assets: [...document.querySelectorAll('img[src], script[src], link[rel=stylesheet][href], ' +
                                        'iframe[src], video[src], source[src]')]
      .map(e => [e.tagName.toLowerCase(), e.getAttribute('src') || e.getAttribute('href')])
      .filter(([t, u]) => /^(https?:)?\/\//.test(u)),
  height: Math.ceil(document.documentElement.scrollHeight),
  widgets: document.documentElement.dataset.reidWidgets || null,
};
""".replace("__STATIC__", STATIC_CLASS)


# Typeset the page's math with a local MathJax, then report its TeX errors and any raw delimiters
# left in the text (outside code and typeset math). Called with the script's file URL.
MATH_PROBE = r"""
const src = arguments[0], done = arguments[arguments.length - 1];
const article = document.querySelector('article.bd-article') || document.body;
const skip = 'pre, code, script, style, textarea, mjx-container, .cell_input, .highlight';
const raw = () => {
  const found = [], walk = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    const text = n.textContent, ds = ['\\(', '\\)', '\\[', '\\]', '$$'].filter(d => text.includes(d));
    const i = ds.length ? Math.min(...ds.map(d => text.indexOf(d))) : -1;
    if (i >= 0) found.push([ds, text.slice(Math.max(0, i - 30), i + 50).replace(/\s+/g, ' ').trim()]);
  }
  return found;
};
const report = error => {
  const doc = window.MathJax && MathJax.startup && MathJax.startup.document, errors = [];
  for (const m of doc ? doc.math : []) {
    const e = m.typesetRoot && m.typesetRoot.querySelector('mjx-merror');
    if (e) errors.push([m.math, e.getAttribute('data-mjx-error') || e.textContent]);
  }
  done({error: error, errors: errors, raw: raw(), math: article.querySelectorAll('.math').length,
        typeset: doc ? Array.from(doc.math).length : 0});
};
if (!article.querySelector('.math')) { report(null); return; }
if (window.MathJax && MathJax.startup) {  // the CDN's copy loaded (online): wait for it
  MathJax.startup.promise.then(() => report(null), e => report(String(e)));
  return;
}
const page = window.MathJax || {};  // the page's configuration; undefined macros become errors
window.MathJax = Object.assign({}, page, {tex: Object.assign({}, page.tex, {packages: {'[-]': ['noundefined']}})});
const script = document.createElement('script');
script.src = src;
script.onerror = () => report('the local MathJax did not load: ' + src);
script.onload = () => MathJax.startup.promise.then(() => report(null), e => report(String(e)));
document.head.appendChild(script);
"""


def check_math(driver, mathjax: Path = MATHJAX) -> list[str]:
    """Typeset the loaded page's math with the MathJax at ``mathjax`` -> its problems (none: it passes)."""
    if not mathjax.is_file():
        return [
            f"the MathJax copy of the check is missing ({mathjax}); restore tests/fixtures/mathjax "
            "(its README says how to fetch it with npm)"
        ]
    driver.set_script_timeout(60)
    m = driver.execute_async_script(MATH_PROBE, mathjax.resolve().as_uri())
    problems = [f"MathJax failed: {m['error']}"] if m["error"] else []
    problems += [f"MathJax error: {msg} (in the TeX {tex!r})" for tex, msg in m["errors"]]
    if not m["error"] and m["typeset"] < m["math"]:
        problems.append(f"MathJax typeset {m['typeset']} of the page's {m['math']} equations")
    problems += [f"raw TeX delimiters {ds} left in the text: {snippet!r}" for ds, snippet in m["raw"]]
    return problems


@dataclass
class PageResult:
    page: str  # path relative to the HTML folder
    problems: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # failed CDN loads and errors of CDN scripts
    title: str = ""  # the text of the page's h1
    nav: list = field(default_factory=list)  # [(docname or None, text)] of the sidebar
    widgets: str | None = None  # what reid-widgets.js did: none, live or static


def make_driver(width: int = 1280, height: int = 900):
    """Headless Chromium through Debian's chromedriver (Selenium Manager is never used)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not Path(exe).is_file():
            raise FileNotFoundError(
                f"{exe} is missing; the browser check needs Debian's chromium and "
                "chromium-driver: apt-get install -y --no-install-recommends chromium chromium-driver "
                "(make test-browser installs them when run as root)."
            )
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + [f"--window-size={width},{height}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    return driver


def toc_entries(root: Path = ROOT) -> tuple[str, list[tuple[str | None, str, str | None, int]]]:
    """``(root docname, [(part caption, docname, title from _toc.yml or None, depth)])`` in order."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    entries = []

    def walk(items, caption, depth):
        for item in items or []:
            if "file" in item:
                entries.append((caption, str(Path(item["file"]).with_suffix("")), item.get("title"), depth))
            walk(item.get("sections"), caption, depth + 1)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"), 1)
    walk(toc.get("chapters"), None, 1)
    return str(Path(toc["root"]).with_suffix("")), entries


def _docname(url: str, html_dir: Path) -> str | None:
    path = Path(unquote(urlsplit(url).path))
    try:
        return path.resolve().relative_to(html_dir.resolve()).with_suffix("").as_posix()
    except ValueError:
        return None


def _is_ours(log_message: str) -> bool:
    """Chrome log lines start with the URL of their source; ours are the book's file:// pages."""
    source = log_message.split(" ", 1)[0]
    return not source.startswith(("http://", "https://"))


def check_page(driver, html_dir: Path, page: Path, screenshot: Path | None, settle_s: float = 10.0) -> PageResult:
    """Load one page, wait for its images, probe it and save its screenshot."""
    res = PageResult(page.relative_to(html_dir).as_posix())
    driver.get_log("browser")  # drop what earlier pages left
    driver.get(page.resolve().as_uri())
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline and not driver.execute_script(  # the widget loader sets data-reid-widgets
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"
        " && (!document.querySelector('script[src*=\"reid-widgets.js\"]')"
        "     || !['loading', undefined].includes(document.documentElement.dataset.reidWidgets))"
    ):
        time.sleep(0.05)
    math_problems = check_math(driver)
    p = driver.execute_script(PROBE)

    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        (res.problems if _is_ours(entry["message"]) else res.external).append(
            ("JavaScript error: " if _is_ours(entry["message"]) else "") + entry["message"][:300]
        )
    res.problems += [f"image did not load: {i['src']}" for i in p["images"] if not i["ok"]]
    res.problems += [f"a cell shows an error: {t}" for t in p["tracebacks"]]
    res.problems += [
        f"a cell output shows a traceback: {o.strip().splitlines()[-1][:200]}"
        for o in p["outputs"]
        if "Traceback (most recent call last)" in o
    ]
    res.problems += [
        f"a figure shows as text, not as an image: {o.strip()[:80]!r} (kernel without the inline backend?)"
        for o in p["outputs"]
        if o.strip().startswith("<Figure size")
    ]
    res.problems += [
        f"a cell calls plt.show() but shows no image (kernel without the inline backend?): {c!r}"
        for c in p["blank_figures"]
    ]
    for k, e in enumerate(p["explorers"]):
        if not e["visible"] or e["images"] == 0 or e["shown"] < e["images"]:
            res.problems.append(
                f"explorer {k + 1} has no visible static rendering "
                f"(visible={e['visible']}, {e['shown']} of {e['images']} images shown)"
            )
    res.problems += [f"math without TeX: {m!r}" for m in p["math"] if not m]
    res.problems += math_problems
    for tag, url in p["assets"]:
        if not (tag == "script" and url.startswith(ALLOWED_SCRIPTS)):
            res.problems.append(f"<{tag}> depends on the network: {url}")
    levels = [lvl for lvl, _ in p["headings"]]
    if levels.count(1) != 1:
        res.problems.append(
            f"expected one h1 title, found {levels.count(1)}: {[t for lvl, t in p['headings'] if lvl == 1]}"
        )
    for (a, _), (b, t) in pairwise(p["headings"]):
        if b > a + 1:
            res.problems.append(f"heading {t!r} is an h{b} right after an h{a} (a level is skipped)")
    res.widgets = p["widgets"]
    if res.widgets == "loading":
        res.problems.append(f"the live widgets were still loading after {settle_s} s")
    res.title = next((t for lvl, t in p["headings"] if lvl == 1), "")
    res.nav = [(None if href is None else _docname(href, html_dir), t) for href, t in p["nav"]]

    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        width = driver.execute_script("return document.documentElement.clientWidth")
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(p["height"], SCREENSHOT_MAX_HEIGHT), "scale": 1},
            },
        )
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    return res


def check_toc(results: dict[str, PageResult], root: Path) -> dict[str, list[str]]:
    """Every _toc.yml entry has a page; the sidebar of every page lists the chapters in toc order."""
    root_doc, entries = toc_entries(root)
    titles = {r.page[: -len(".html")]: r.title for r in results.values()}
    problems: dict[str, list[str]] = {}
    for doc in [root_doc] + [e[1] for e in entries]:
        if doc not in titles:
            problems.setdefault(f"{doc}.html", []).append(f"_toc.yml lists {doc}, but the build has no {doc}.html")
    cfg = yaml.safe_load((Path(root) / "_config.yml").read_text()) or {}
    home = (cfg.get("html") or {}).get("home_page_in_navbar", True)
    want = [(root_doc, titles.get(root_doc, ""))] if home else []
    for caption, doc, title, depth in entries:
        if depth == 1:
            if caption and (None, caption) not in want:
                want.append((None, caption))
            want.append((doc, title or titles.get(doc, "")))
    for page, r in results.items():
        doc = page[: -len(".html")]
        if doc not in titles or doc not in [root_doc] + [e[1] for e in entries]:
            continue
        if r.nav != want:
            problems.setdefault(page, []).append(f"the sidebar does not match _toc.yml: expected {want}, found {r.nav}")
    for page in results:
        doc = page[: -len(".html")]
        if doc not in [root_doc] + [e[1] for e in entries] + ["genindex", "search"]:
            problems.setdefault(page, []).append(f"{page} is built but not listed in _toc.yml")
    return problems


def check_book(html_dir: Path, root: Path = ROOT, screenshots: Path | None = None) -> dict:
    """Run every check on a built book; no ``problems`` means it passes.

    Returns ``{"problems": {page: [message]}, "external_links": [url] (listed, not fetched),
    "network": [page: message] (failed CDN loads offline; not counted),
    "widgets": {page: "live" or "static"} (pages with stored widget state)}``.
    """
    html_dir = Path(html_dir).resolve()
    problems, external_links = link_check.check_links(html_dir)
    for page, found in link_check.check_colab(html_dir, root).items():
        problems.setdefault(page, []).extend(found)
    pages = [p for p in link_check.html_pages(html_dir) if link_check.parse_page(p).redirect is None]
    for old in Path(screenshots).rglob("*.png") if screenshots is not None else []:
        old.unlink()  # screenshots of pages that no longer exist
    results: dict[str, PageResult] = {}
    network: list[str] = []
    driver = make_driver()
    try:
        for page in pages:
            shot = None if screenshots is None else Path(screenshots) / page.relative_to(html_dir).with_suffix(".png")
            results[page.relative_to(html_dir).as_posix()] = r = check_page(driver, html_dir, page, shot)
            if r.problems:
                problems.setdefault(r.page, []).extend(r.problems)
            network += [f"{r.page}: {e}" for e in r.external]
    finally:
        driver.quit()
    for page, found in check_toc(results, root).items():
        problems.setdefault(page, []).extend(found)
    widgets = {page: r.widgets for page, r in results.items() if r.widgets not in (None, "none")}
    return {"problems": problems, "external_links": external_links, "network": network, "widgets": widgets}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", nargs="?", default=str(ROOT / "_build" / "html"))
    ap.add_argument("--root", default=str(ROOT), help="the book's source root (with _config.yml and _toc.yml)")
    ap.add_argument("--screenshots", default=str(ROOT / "_build" / "screenshots"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    report = check_book(Path(args.html_dir), Path(args.root), Path(args.screenshots))
    problems = report["problems"]
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "external_links.txt").write_text("".join(u + "\n" for u in report["external_links"]))
    (shots / "report.json").write_text(json.dumps(report, indent=1))
    print(
        f"browser check: {len(list(shots.rglob('*.png')))} page(s) opened offline in "
        f"{time.perf_counter() - t0:.1f} s; screenshots and report.json in {shots}"
    )
    print(f"  {len(report['external_links'])} external link(s) listed in {shots / 'external_links.txt'}, not fetched")
    for note in report["network"]:
        print(f"  offline, not counted: {note}")
    for page, found in sorted(problems.items()):
        for f in found:
            print(f"FAIL {page}: {f}")
    print(
        "browser check: "
        + (
            f"{sum(map(len, problems.values()))} problem(s) on {len(problems)} page(s)"
            if problems
            else "every page passed"
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
