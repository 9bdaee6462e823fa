"""The licences and the citation file agree with each other, with pyproject.toml, _config.yml, the
README and the results files they describe."""

import hashlib
import json
import re
from importlib.metadata import metadata

import yaml

from tools import browser_check
from tools.nbtools import ROOT, repository_url


def test_the_code_licence_is_mit_as_pyproject_says():
    assert metadata("reidlib")["License"] == "MIT"  # pyproject.toml's license
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_the_book_footer_states_both_licences():
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    assert "creativecommons.org/licenses/by/4.0/" in footer and "CC BY 4.0" in footer
    assert "MIT" in footer and "LICENSE" in footer


def test_the_citation_file_matches_the_package_and_the_repository():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["authors"]
    assert cff["version"] == metadata("reidlib")["Version"]
    assert cff["repository-code"] == repository_url()
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    paper = cff["references"][0]
    assert paper["year"] == 2019 and "Temporal Attention" in paper["title"]
    intro = yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    assert cff["title"] == intro


def test_the_readme_counts_the_runs_of_the_ablation_file():
    results = json.loads((ROOT / "reidlib" / "results" / "accuracy.json").read_text())
    conditions = results["conditions"].values()
    runs = sum(len(m["splits"]) for c in conditions for m in c["methods"].values())
    methods = {len(c["methods"]) for c in conditions}
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"makes (\d+) training runs, (\d+) methods x (\d+) conditions x (\d+) splits", readme)
    assert found, "README no longer states the ablation's runs in the tested words"
    assert [int(g) for g in found.groups()] == [runs, *methods, len(results["conditions"]), len(results["splits"])]


def test_the_vendored_mathjax_is_the_npm_release_it_says():
    """tests/fixtures/mathjax holds npm's mathjax@3.2.2 files, unchanged (SHA256SUMS lists them)."""
    folder = browser_check.MATHJAX.parents[1]
    listed = [line.split(maxsplit=1) for line in (folder / "SHA256SUMS").read_text().splitlines()]
    assert any(name == "es5/tex-chtml.js" for _, name in listed)
    assert (folder / "LICENSE").read_text().startswith("\n                                 Apache License")
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
