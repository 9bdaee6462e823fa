"""The browser check passes good pages and catches each fault, on a small fixture book.

The fixture (tests/fixtures/book) is built with the book's own _config.yml, static files and
Sphinx extension, then opened in headless Chromium by tools/browser_check.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import browser_check, nbtools

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "book"
PAGES = [
    "book/intro",
    "book/good",
    "book/broken_image",
    "book/error_output",
    "book/missing_figure",
    "book/js_error",
    "book/hidden_explorer",
    "book/two_titles",
    "book/math_typo",
    "book/raw_math",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(browser_check.CHROMIUM).is_file() and Path(browser_check.CHROMEDRIVER).is_file()),
        reason="headless Chromium is not installed (make test-browser installs Debian's chromium and chromium-driver)",
    ),
]


def make_fixture_book(root: Path) -> Path:
    """Copy the fixture pages with the book's config into ``root``; build and return the HTML folder."""
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    cfg = yaml.safe_load((nbtools.ROOT / "_config.yml").read_text())
    cfg["title"] = "A fixture book"
    cfg["execute"]["exclude_patterns"] = ["*error_output*", "*missing_figure*"]  # keep their stored outputs
    (root / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copytree(nbtools.ROOT / "book" / "_static", root / "book" / "_static")
    (root / "tools").mkdir()
    shutil.copy(nbtools.ROOT / "tools" / "book_sphinx.py", root / "tools")
    nbtools.new(root / "book" / "good.md", root)  # as a new chapter is made: MyST text -> notebook
    (root / "book" / "good.md").unlink()
    for stored in ("error_output", "missing_figure"):
        (root / "book" / f"{stored}.json").rename(root / "book" / f"{stored}.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as `make book`: inline figures
    env.update(REIDLIB_PROFILE="quick", OMP_NUM_THREADS="1")
    jb = Path(sys.executable).with_name("jupyter-book")
    out = subprocess.run(
        [str(jb), "build", str(root), "--path-output", str(root / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return root / "out" / "_build" / "html"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Build the fixture book once and run the browser check on it once (as `make test-browser` does)."""
    root = tmp_path_factory.mktemp("fixture_book")
    html = make_fixture_book(root)
    shots = root / "screenshots"
    code = browser_check.main([str(html), "--root", str(root), "--screenshots", str(shots)])
    report = json.loads((shots / "report.json").read_text())
    return root, html, shots, code, report["problems"], report


def _problems(problems, page):
    return "\n".join(problems.get(page + ".html", []))


def test_the_check_fails_on_the_fixture_and_saves_every_screenshot(checked):
    root, html, shots, code, problems, _ = checked
    assert code == 1
    for page in PAGES + ["genindex", "search"]:
        png = (shots / page).with_suffix(".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", page
        assert png.stat().st_size > 5000, f"{page}: an empty screenshot"


def test_good_pages_pass_every_check(checked):
    problems = checked[4]
    for page in ("book/intro", "book/good", "genindex", "search"):
        assert _problems(problems, page) == "", page


@pytest.mark.parametrize(
    "page, expected",
    [
        ("book/broken_image", r"image did not load: .*missing_figure\.png"),
        ("book/error_output", r"a cell shows an error: ZeroDivisionError: division by zero"),
        (
            "book/missing_figure",
            r"(?s)(?=.*calls plt.show\(\) but shows no image)"
            r".*a figure shows as text, not as an image: '<Figure size 640x480",
        ),
        ("book/js_error", r"JavaScript error: file://.*js_error\.html.*reidFunctionThatDoesNotExist is not a function"),
        ("book/hidden_explorer", r"explorer 1 has no visible static rendering \(visible=False, 0 of 0 images"),
        (
            "book/two_titles",
            r"expected one h1 title, found 2(?s:.*)'A heading three levels down' is an h4 right after an h1",
        ),
        (
            "book/math_typo",
            r"(?s)(?=.*MathJax error: Missing argument for \\frac \(in the TeX ' ?\\\\frac\{a\} ?'\))"
            r"(?=.*MathJax error: Undefined control sequence \\alpah)"
            r"(?=.*MathJax typeset 2 of the page's 3 equations)"
            r"(?=.*raw TeX delimiters \['\\\\\[', '\\\\\]'\] left in the text: '.*frac\{a\}\{b)",
        ),
        (
            "book/raw_math",
            r"raw TeX delimiters \['\\\\\(', '\\\\\)', '\$\$'\] left in the text: "
            r"'Escaped dollars leave \$\$ x\^2 \$\$",
        ),
    ],
)
def test_each_faulty_page_fails_for_its_fault(checked, page, expected):
    problems = checked[4]
    assert _problems(problems, page), f"{page} passed, but it has a fault"

    assert re.search(expected, _problems(problems, page)), _problems(problems, page)


def test_only_the_faulty_pages_fail(checked):
    problems = checked[4]
    faulty = {p + ".html" for p in PAGES[2:]}
    assert set(problems) == faulty


def test_explorer_has_static_view_and_stored_widget_state(checked):
    """The executed notebook keeps the live widget's state; the page shows the static grid without a CDN."""
    root, html, *_ = checked
    nb = json.loads((root / "out" / "_build" / "jupyter_execute" / "book" / "good.ipynb").read_text())
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = {m["model_name"]: m["state"] for m in state.values()}
    assert models["IntSliderModel"]["description"] == "power"
    assert (models["IntSliderModel"]["min"], models["IntSliderModel"]["max"]) == (1, 3)
    # the initial view of the interactive figure is stored in its Output widget
    assert any(o.get("data", {}).get("image/png") for o in models["OutputModel"]["outputs"])
    page = (html / "book" / "good.html").read_text()
    assert page.count('<img alt="../_images/') == 1  # the plt.show() figure
    assert 'type="application/vnd.jupyter.widget-state+json"' in page
    assert page.count('<figure style="margin:0"><img src="data:image/png;base64,') == 2
    assert "reid-widgets.js" in page and "embed-amd.js" not in page and "require.min.js" not in page
    # offline, the widget loader gave up quietly (no JavaScript error: the page passed) and the static view stays
    assert checked[5]["widgets"] == {"book/good.html": "static"}


def test_the_good_page_is_typeset_by_the_local_mathjax(checked):
    """Offline, the check's own MathJax typesets the good page's equation without an error."""
    html = checked[1]
    driver = browser_check.make_driver()
    try:
        driver.get((html / "book" / "good.html").resolve().as_uri())
        assert browser_check.check_math(driver) == []
        assert driver.execute_script("return document.querySelectorAll('mjx-container').length") == 1
        assert driver.execute_script("return document.querySelectorAll('mjx-merror').length") == 0
    finally:
        driver.quit()


def test_a_missing_mathjax_copy_is_a_problem_not_a_pass(checked, tmp_path):
    html = checked[1]
    driver = browser_check.make_driver()
    try:
        driver.get((html / "book" / "good.html").resolve().as_uri())
        found = browser_check.check_math(driver, tmp_path / "tex-chtml.js")
    finally:
        driver.quit()
    assert len(found) == 1 and "MathJax copy of the check is missing" in found[0]
