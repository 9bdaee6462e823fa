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


def _runs_in(tables) -> int:
    return sum(len(m["splits"]) for t in tables for m in t["methods"].values())


def test_the_readme_counts_the_runs_of_the_results_files():
    results = ROOT / "reidlib" / "results"
    e2e = json.loads((results / "accuracy.json").read_text())
    lab = json.loads((results / "lab.json").read_text())
    lab_tables = [t for pop in lab["populations"].values() for p in pop["protocols"].values() for t in p.values()]
    readme = (ROOT / "README.md").read_text()
    found_lab = re.search(r"`bench_lab.py`, [^;]*? holds (\d+) finished runs in `reidlib/results/lab.json`", readme)
    found_e2e = re.search(r"`bench_accuracy.py`, [^;]*? holds (\d+) finished training runs", readme)
    assert found_lab and found_e2e, "README no longer states the benchmarks' runs in the tested words"
    assert int(found_lab.group(1)) == _runs_in(lab_tables)
    assert int(found_e2e.group(1)) == _runs_in(e2e["conditions"].values())


def test_the_vendored_mathjax_is_the_npm_release_it_says():
    """tests/fixtures/mathjax holds npm's mathjax@3.2.2 files, unchanged (SHA256SUMS lists them)."""
    folder = browser_check.MATHJAX.parents[1]
    listed = [line.split(maxsplit=1) for line in (folder / "SHA256SUMS").read_text().splitlines()]
    assert any(name == "es5/tex-chtml.js" for _, name in listed)
    assert (folder / "LICENSE").read_text().startswith("\n                                 Apache License")
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
