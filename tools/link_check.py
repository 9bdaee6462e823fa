"""Check the links of the built HTML book without fetching anything.

* internal links, anchors, images, scripts and stylesheets must resolve to a file of the
  build (and to an ``id`` in it, for a ``#fragment``);
* external links are listed, never fetched;
* every Colab link must point at a notebook that exists in the repository named in
  ``_config.yml``, and a page made from a notebook must link to that very notebook.

``python tools/link_check.py [_build/html] [--root .] [--external _build/external_links.txt]``
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
COLAB = "https://colab.research.google.com/github/"
EXTERNAL_SCHEMES = {"http", "https", "mailto", "ftp", "tel"}


@dataclass
class Page:
    """What one HTML page links to, and the ids it defines."""

    path: Path
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # <a href>
    assets: list[str] = field(default_factory=list)  # <img src>, <script src>, <link href>
    redirect: str | None = None  # <meta http-equiv="refresh">


class _Parser(HTMLParser):
    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.page.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.page.ids.add(a["name"])
        if tag == "a" and "href" in a:
            self.page.links.append(a["href"])
        elif tag in ("img", "script") and "src" in a:
            self.page.assets.append(a["src"])
        elif tag == "link" and "href" in a and a.get("rel", "").lower() in ("stylesheet", "icon", "preload"):
            self.page.assets.append(a["href"])
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh" and "url=" in a.get("content", "").lower():
            self.page.redirect = a["content"].split("=", 1)[1].strip()


def parse_page(path: Path) -> Page:
    page = Page(path)
    _Parser(page).feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def html_pages(html_dir: Path) -> list[Path]:
    """The pages of a build: every .html file outside the underscore folders (_static, ...)."""
    html_dir = Path(html_dir)
    return sorted(
        p
        for p in html_dir.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(html_dir).parts[:-1])
    )


def _is_external(url: str) -> bool:
    return urlsplit(url).scheme.lower() in EXTERNAL_SCHEMES


def check_links(html_dir: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Problems per page (relative path -> messages) and the sorted external links of the build."""
    html_dir = Path(html_dir).resolve()
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(
            f"expected a built HTML book with index.html in {html_dir}; found none. Build it first: make book"
        )
    pages = {p.resolve(): parse_page(p) for p in html_pages(html_dir)}
    problems: dict[str, list[str]] = {}
    external: set[str] = set()
    for path, page in pages.items():
        rel = path.relative_to(html_dir).as_posix()
        found = []
        urls = [("link", u) for u in page.links] + [("asset", u) for u in page.assets]
        if page.redirect:
            urls.append(("redirect", page.redirect))
        for kind, url in urls:
            parts = urlsplit(url)
            if _is_external(url):
                if kind != "asset":  # external assets are the browser check's business
                    external.add(url)
                continue
            if parts.scheme in ("data", "javascript") or url in ("", "#"):
                continue
            if parts.scheme and parts.scheme != "file":
                found.append(f"{kind} {url!r} has an unknown scheme {parts.scheme!r}")
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                found.append(f"{kind} {url!r}: no file {target}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse_page(target).ids
                if unquote(parts.fragment) not in ids:
                    found.append(f"{kind} {url!r}: no id {parts.fragment!r} in {target.name}")
        if found:
            problems[rel] = found
    return problems, sorted(external)


def repository(root: Path = ROOT) -> tuple[str, str]:
    """``(owner/name, branch)`` of the one repository setting in _config.yml."""
    repo = yaml.safe_load((Path(root) / "_config.yml").read_text())["repository"]
    url = repo["url"].rstrip("/")
    if "github.com/" not in url:
        raise ValueError(f"_config.yml repository.url must be a GitHub address for the Colab links; found {url!r}.")
    return url.split("github.com/", 1)[1], repo.get("branch", "main")


def colab_target(url: str) -> tuple[str, str, str]:
    """``(owner/name, branch, path)`` of a Colab GitHub link."""
    if not url.startswith(COLAB):
        raise ValueError(f"expected a link starting with {COLAB}; found {url!r}")
    owner, name, blob, branch, *path = urlsplit(url).path.split("/")[2:]
    if blob != "blob" or not path:
        raise ValueError(f"expected {COLAB}<owner>/<repo>/blob/<branch>/<path>; found {url!r}")
    return f"{owner}/{name}", branch, "/".join(p for p in path if p)


def check_colab(html_dir: Path, root: Path = ROOT) -> dict[str, list[str]]:
    """Colab problems per page: links to another repository, branch or a missing notebook."""
    html_dir, root = Path(html_dir).resolve(), Path(root).resolve()
    repo, branch = repository(root)
    problems: dict[str, list[str]] = {}
    for path in html_pages(html_dir):
        rel = path.relative_to(html_dir)
        own = rel.with_suffix(".ipynb").as_posix()  # the notebook this page was made from
        links = [u for u in parse_page(path).links if u.startswith(COLAB)]
        found = []
        for url in sorted(set(links)):
            got_repo, got_branch, nb = colab_target(url)
            if got_repo != repo or got_branch != branch:
                found.append(f"Colab link {url} points at {got_repo}@{got_branch}, expected {repo}@{branch}")
            elif not (root / nb).is_file():
                found.append(f"Colab link {url} points at {nb}, which is not a file of the repository")
            elif nb != own:
                found.append(f"Colab link {url} points at {nb}, expected this page's notebook {own}")
        if (root / own).is_file() and not links:
            found.append(f"no Colab link on the page of {own}")
        if found:
            problems[rel.as_posix()] = found
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", nargs="?", default=str(ROOT / "_build" / "html"))
    ap.add_argument("--root", default=str(ROOT), help="the book's source root (with _config.yml)")
    ap.add_argument("--external", help="write the external links here, one a line")
    args = ap.parse_args(argv)
    problems, external = check_links(Path(args.html_dir))
    for page, found in check_colab(Path(args.html_dir), Path(args.root)).items():
        problems.setdefault(page, []).extend(found)
    if args.external:
        Path(args.external).write_text("".join(u + "\n" for u in external))
    for page, found in sorted(problems.items()):
        for f in found:
            print(f"{page}: {f}")
    print(
        f"links: {len(problems)} page(s) with problems; {len(external)} external link(s) listed, not fetched"
        + (f" (in {args.external})" if args.external else "")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
