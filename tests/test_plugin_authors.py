"""A third-party plugin author's mistakes, each answered before any work and naming the plugin; code is part of
a result's identity. Each plugin is a package written here and installed the way ``pip install -e`` lays it
out (``plugin_packages``); every command is the real ``erc-bench`` in a subprocess."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from plugin_packages import erc_bench, fusion_head_source, install_plugin

from erc_bench.testing import tiny_spec

DIST = "erc-bench-tensor-fusion"


def _tiny(tmp_path: Path, **slots: dict) -> Path:
    return tiny_spec(tmp_path, "author-check", **(slots or {"fusion_head": {"plugin": "tensor-fusion"}}))


def _run(tmp_path: Path, spec: Path, plugin, *extra: str):  # noqa: ANN001, ANN202
    return erc_bench(["run", str(spec), "--limit", "3", "--cache-dir", str(tmp_path / "cache"), "--tracking-uri",
                      f"sqlite:///{tmp_path / 'mlflow.db'}", "-o", str(tmp_path / "results.json"), *extra],
                     plugin, tmp_path)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(("out_width", "returned", "expected", "actual"), [
    ("64", "self.out(fused)", "[2, 5, 4]", "[2, 5, 64]"),       # features instead of class logits
    ("num_labels", "self.out(fused)[:, 0]", "[2, 5, 4]", "[2, 4]"),  # one logit row per conversation
])
def test_wrong_output_shape_fails_at_set_up_naming_the_plugin(tmp_path, out_width, returned, expected,
                                                              actual) -> None:
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source(out_width=out_width,
                                                                                 returned=returned)})
    started = time.perf_counter()
    result = _run(tmp_path, _tiny(tmp_path), plugin)
    seconds = time.perf_counter() - started
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_error_line(result.stderr)
    assert "model.fusion_head: fusion_head 'tensor-fusion' (erc-bench-tensor-fusion 0.1.0" in line
    assert f"expected shape {expected}, got {actual}" in line
    assert not (tmp_path / "cache" / "stages").exists()  # nothing was trained
    assert seconds < 120  # set-up, not Stages I-II (a bound against a hang, not a speed test)


def test_raising_constructor_is_one_line_in_validate_and_run_and_a_traceback_with_debug(tmp_path) -> None:
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source(
        init="raise ValueError('hidden must be a power of two')")})
    spec = _tiny(tmp_path)
    for command in (["validate", str(spec)], ["run", str(spec), "--limit", "3", "--cache-dir",
                                                str(tmp_path / "cache")]):
        result = erc_bench(command, plugin, tmp_path)
        assert result.returncode == 2
        line = _one_error_line(result.stderr)
        assert line == ("error: model.fusion_head: fusion_head 'tensor-fusion' (erc-bench-tensor-fusion 0.1.0) could "
                        "not be constructed: ValueError: hidden must be a power of two"), line
    assert not (tmp_path / "cache" / "transcripts").exists() and not (tmp_path / "cache" / "stages").exists()
    debug = erc_bench(["--debug", "validate", str(spec)], plugin, tmp_path)
    assert "Traceback" in debug.stderr and "raise ValueError('hidden must be a power of two')" in debug.stderr


def test_class_without_build_breaks_only_itself(tmp_path) -> None:
    source = fusion_head_source().replace("def build(", "def build_module(")
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": source})
    listed = erc_bench(["plugins"], plugin, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "co-attention" in listed.stdout  # the built-ins are all there
    assert "fusion_head 'tensor-fusion' left out" in listed.stderr and "missing build" in listed.stderr
    assert erc_bench(["validate", "quickstart"], plugin, tmp_path).returncode == 0  # other specs still work
    result = erc_bench(["validate", str(_tiny(tmp_path))], plugin, tmp_path)
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "model.fusion_head.plugin: fusion_head 'tensor-fusion' of plugin package erc-bench-tensor-fusion 0.1.0 " \
           "failed to load" in line and "missing build" in line


def test_entry_point_naming_a_missing_module_is_reported_not_unknown(tmp_path) -> None:
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source()},
                            entry_point="erc_bench_tensor_fusion.no_such_module")
    listed = erc_bench(["plugins"], plugin, tmp_path)
    assert listed.returncode == 0
    assert "plugin package failed to load" in listed.stderr and "No module named" in listed.stderr
    result = erc_bench(["validate", str(_tiny(tmp_path))], plugin, tmp_path)
    line = _one_error_line(result.stderr)
    assert "fusion_head 'tensor-fusion' is not registered: plugin package erc-bench-tensor-fusion 0.1.0 failed to " \
           "load (ModuleNotFoundError" in line
    assert "unknown" not in line


@pytest.mark.parametrize(("value", "message"), [
    ("true", "hidden: Input should be a valid integer (got True)"),
    ('"64"', "hidden: Input should be a valid integer (got '64')"),
])
def test_plugin_params_are_strict(tmp_path, value, message) -> None:
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source()})
    spec = _tiny(tmp_path)
    result = erc_bench(["validate", str(spec), "--set", f"model.fusion_head.params.hidden={value}"], plugin, tmp_path)
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert line == f"error: {spec}: model.fusion_head.params.{message}", line


def test_shipped_spec_names_work_in_extends_and_commands(tmp_path) -> None:
    spec = tmp_path / "mine.toml"
    spec.write_text('extends = "quickstart"\n[benchmark]\nname = "mine"\n')
    result = erc_bench(["validate", str(spec)], None, tmp_path)
    assert result.returncode == 0, result.stderr
    info = erc_bench(["data", "info", "demo", "--spec", "quickstart"], None, tmp_path)
    assert info.returncode == 0, info.stderr
    missing = tmp_path / "missing.toml"
    missing.write_text('extends = "no-such-spec"\n')
    line = _one_error_line(erc_bench(["validate", str(missing)], None, tmp_path).stderr)
    assert "extends: no such spec file or shipped spec: no-such-spec" in line


def test_plugins_name_prints_params_package_and_description(tmp_path) -> None:
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source()})
    result = erc_bench(["plugins", "tensor-fusion"], plugin, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fusion_head 'tensor-fusion'" in result.stdout and "erc-bench-tensor-fusion 0.1.0 (source " in result.stdout
    assert "Outer product of both modalities" in result.stdout
    assert "│ hidden" in result.stdout and "│ int" in result.stdout and "│ 8" in result.stdout


def test_editing_a_plugin_retrains_what_it_touches_and_replays_the_rest(tmp_path) -> None:
    """The stale-cache defect: a plugin's code edit used to replay the old score from the cache."""
    plugin = install_plugin(tmp_path, DIST, {"__init__.py": fusion_head_source()})
    spec = _tiny(tmp_path)
    first = _run(tmp_path, spec, plugin)
    assert first.returncode == 0, first.stderr
    before = {r["stage"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    # a real change: the head now fuses with an extra tanh
    init = plugin.source / "__init__.py"
    init.write_text(init.read_text().replace("return self.out(fused)", "return self.out(torch.tanh(fused))"))
    second = _run(tmp_path, spec, plugin)
    assert second.returncode == 0, second.stderr
    after = {r["stage"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    assert after["stage3-fusion"]["replayed_from_cache"] == {"0": False}  # retrained: its code changed
    for stage in ("stage1-text", "stage1-speech", "stage2-text", "stage2-speech"):
        assert after[stage]["replayed_from_cache"] == {"0": True}, stage  # untouched: replayed
        assert after[stage]["test_weighted_f1"] == before[stage]["test_weighted_f1"]
    third = _run(tmp_path, spec, plugin)  # unchanged code: everything replays
    assert third.returncode == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert all(r["replayed_from_cache"] == {"0": True} for r in rows)
    assert {r["stage"]: r["test_weighted_f1"] for r in rows} == {s: r["test_weighted_f1"] for s, r in after.items()}
    # the leaderboard keeps the two codes apart: each seed run's configuration digest and its code param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("author-check").experiment_id],
                              "tags.erc_bench.run_kind = 'dataset-seed'", order_by=["attributes.start_time ASC"])
    digests = [r.data.tags["erc_bench.system_digest"] for r in runs]
    assert len(digests) == 3 and digests[0] != digests[1] == digests[2]
    codes = [r.data.params["code.model.fusion_head"] for r in runs]
    assert codes[0].startswith("erc-bench-tensor-fusion 0.1.0 (source ") and codes[0] != codes[1] == codes[2]


def test_new_plugin_writes_a_package_that_passes_its_own_tests(tmp_path) -> None:
    """The starting package of ``erc-bench new-plugin``: lint-clean, installable by pip, and its tests (the
    exported contract checks and a tiny end-to-end run) pass."""
    import subprocess
    import sys

    made = erc_bench(["new-plugin", "tensor-fusion", "--out", str(tmp_path)], None, tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / DIST
    assert (package / "erc_bench_tensor_fusion" / "__init__.py").is_file()
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
                           "--line-length", "120", str(package)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(package)], check=True)
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-m", "erc_bench.cli", "plugins"], env=env, capture_output=True,
                            text=True)
    for name in ("tensor-fusion-context", "tensor-fusion-fusion", "tensor-fusion-labeller"):
        assert name in listed.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                           env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "5 passed" in tests.stdout
    again = erc_bench(["new-plugin", "tensor-fusion", "--out", str(tmp_path)], None, tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_a_shipped_spec_name_runs_and_logs_its_file(tmp_path) -> None:
    """``erc-bench run NAME`` logs the spec file itself (the name is not a file)."""
    result = erc_bench(["run", "demo/text_only", "--limit", "2", "--cache-dir", str(tmp_path / "cache"),
                        "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--set", "benchmark.seeds=[0]",
                        "--set", "pretrain.enabled=false", "--set", "training.stage1.epochs=1", "--set",
                        "training.stage2.epochs=1"], None, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
