"""A small Sphinx extension for the book's HTML, loaded by _config.yml (sphinx: local_extensions).

Sphinx 7.4 keeps two copies of an inline script that an extension adds once the builder
exists (one named ``None`` from the registry, one named ``''``), so every page declared
sphinx-thebe's ``const THEBE_JS_URL`` twice and logged a SyntaxError. Each page keeps the
first copy of each script.
"""

from __future__ import annotations


def dedupe_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop repeated scripts (same file or body, priority and attributes) from a page's context."""
    seen, kept = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 500), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app) -> dict:
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
