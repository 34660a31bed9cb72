"""The quickstart's published numbers are checked: ``scripts/check_expected.py`` compares a run's table with
``benchmarks/expected/quickstart.json`` (CI runs it after the quickstart), and the README's table is that file."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "benchmarks" / "expected" / "quickstart.json"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_expected", ROOT / "scripts" / "check_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc(text_stage1_seed0: float) -> dict:
    return {"rows": [{"dataset": "demo", "stage": "stage1-text",
                      "test_weighted_f1": {"0": text_stage1_seed0, "1": 0.59},
                      "validation_weighted_f1": {"0": 0.52, "1": 0.55}}]}


def test_compare_names_each_difference_beyond_the_tolerance(check) -> None:
    assert check.compare(_doc(0.6058), _doc(0.6058), check.EXACT) == []
    assert check.compare(_doc(0.6058 + 1e-9), _doc(0.6058), check.EXACT) == []  # JSON's float round trip
    lines = check.compare(_doc(0.4826), _doc(0.6058), check.EXACT)
    assert lines == ["demo/stage1-text test_weighted_f1 seed 0: 48.26 % here, expected 60.58 % "
                     "(difference -12.32 points, allowed 0.00)"]
    assert check.compare(_doc(0.6040), _doc(0.6058), 0.005) == []
    missing = {"rows": [{**_doc(0.6)["rows"][0], "stage": "stage2-text"}]}
    assert sorted(check.compare(missing, _doc(0.6), 0.5)) == ["demo/stage1-text: missing from the run",
                                                             "demo/stage2-text: not in the expected file"]


def test_main_exact_on_the_recorded_platform_and_writes_a_new_file(check, tmp_path, capsys) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_doc(0.6058)))
    expected = tmp_path / "expected.json"
    assert check.main([str(results), "--expected", str(expected), "--write"]) == 0
    written = json.loads(expected.read_text())
    assert written["platform"] == check.fingerprint() and written["rows"][0]["test_weighted_f1"]["0"] == 0.6058
    assert check.main([str(results), "--expected", str(expected)]) == 0
    assert "same platform" in capsys.readouterr().out
    results.write_text(json.dumps(_doc(0.6059)))  # one hundredth of a point moved: fails here
    assert check.main([str(results), "--expected", str(expected)]) == 1
    written["platform"]["cpu"] = "another CPU"
    written["tolerance"] = {"stage1-text": 0.001, "default": 0.0}
    expected.write_text(json.dumps(written))
    assert check.main([str(results), "--expected", str(expected)]) == 0
    assert "another platform (cpu" in capsys.readouterr().out


def test_the_readme_table_is_the_expected_file() -> None:
    """Every per-seed test WF1 in the README's quickstart table is the committed expected number."""
    expected = json.loads(EXPECTED.read_text())
    titles = {"stage1-speech": "Audio (Stage I)", "stage2-speech": "Audio (Stage II)",
              "stage1-text": "Text (Stage I)", "stage2-text": "Text (Stage II)",
              "stage3-fusion": "Audio+Text (Stage III)"}
    readme = (ROOT / "README.md").read_text()
    assert len(expected["rows"]) == 5
    for row in expected["rows"]:
        match = re.search(rf"^\| {re.escape(titles[row['stage']])} \| ([0-9., ]+) \|", readme, re.MULTILINE)
        assert match, titles[row["stage"]]
        printed = [float(v) for v in match.group(1).split(",")]
        assert printed == [round(100 * row["test_weighted_f1"][s], 2) for s in ("0", "1", "2")], row["stage"]
