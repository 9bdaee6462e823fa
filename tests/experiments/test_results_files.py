"""Results files that were transcribed rather than written by a benchmark match their source."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_speed_file_is_the_recorded_h100_run():
    """reidlib/results/speed_cuda.json holds the tables of the H100 run recorded in benchmarks/RESULTS.md."""
    results = json.loads((ROOT / "reidlib/results/speed_cuda.json").read_text())
    text = (ROOT / "benchmarks/RESULTS.md").read_text()
    section = text[text.index("## Models on a GPU") :]
    section = section[: section.index("\n## ", 10)]
    assert results["date"] in section and results["torch"] in section and "H100" in results["machine"]
    table1 = re.findall(r"^\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| [\d.]+x \| [\d.]+x \|$", section, re.M)
    assert [(r["frames"], r["FCN ms"], r["LSTM-att ms"], r["GRU-att ms"]) for r in results["attention"]] == [
        (int(n), float(f), float(lstm), float(g)) for n, f, lstm, g in table1
    ]
    for r in results["attention"]:
        assert r["LSTM / FCN"] == pytest.approx(r["LSTM-att ms"] / r["FCN ms"], abs=1e-3)
    table2 = re.findall(r"^\| (\d+) \| (\d+) \| ([\d.]+) \| (\d+) \|", section, re.M)
    assert [(r["pairs"], r["frames"], r["step ms"], r["frames/s"]) for r in results["training_step"]] == [
        (int(p), int(f), float(ms), int(fps)) for p, f, ms, fps in table2
    ]
