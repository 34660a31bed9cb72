"""Extras: the core needs none of them, a missing one is one line naming it; pinned offline models are checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from erc_bench.core.errors import UserError
from erc_bench.core.extras import MissingExtra, require

ROOT = Path(__file__).resolve().parents[1]
EXTRA_MODULES = ("faster_whisper", "ctranslate2", "openai", "anthropic", "together", "ray", "jiwer", "vaderSentiment",
                 "whisper_normalizer", "h5py")


def test_core_commands_import_no_extra() -> None:
    """--help, plugin discovery and spec validation never import an extra's library."""
    code = ("import sys; from erc_bench.cli import app; from erc_bench.core.plugin_host import host; host(); "
            "from erc_bench.core.spec import load_spec; load_spec('benchmarks/demo/joint.toml'); "
            f"print(sorted(m for m in {EXTRA_MODULES!r} if m in sys.modules))")
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pyproject_extras_and_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for package in ("faster-whisper", "ctranslate2", "openai", "anthropic", "together", "ray", "vadersentiment"):
        assert package not in core, package
    extras = project["optional-dependencies"]
    assert {"asr", "llm", "ray", "offline-models", "all"} <= set(extras)
    assert all("==" in r for r in extras["offline-models"] if not r.startswith("erc-bench["))
    pins = {line.split("==")[0].lower(): line.split("==")[1] for line in (ROOT / "constraints.txt").read_text()
            .splitlines() if "==" in line}
    for requirement in [*project["dependencies"], *extras["asr"], *extras["llm"], *extras["offline-models"]]:
        name = requirement.split(">")[0].split("=")[0].split("[")[0].strip().lower()
        assert name in pins or name in {"torch", "erc-bench"}, name
    assert "PIP_CONSTRAINT = {toxinidir}/constraints.txt" in (ROOT / "tox.ini").read_text()


def test_missing_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingExtra, match=r"install the asr extra: pip install 'erc-bench\[asr\]'"):
        require("no_such_module_for_erc_bench", "asr", "the thing")
    monkeypatch.setitem(sys.modules, "openai", None)  # as if the llm extra were not installed
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    from erc_bench.core.plugin_host import build

    labeller = build("labeller", "openai", {"model": "gpt-3.5-turbo"})
    with pytest.raises(MissingExtra) as raised:
        labeller.check_ready()  # the run's preflight: before any ASR
    assert "erc-bench[llm]" in str(raised.value) and "\n" not in str(raised.value)
    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    from erc_bench_speech.whisper_model import pick_device

    with pytest.raises(MissingExtra, match=r"erc-bench\[asr\]"):
        pick_device("auto", "auto")


def test_missing_extra_through_the_cli(cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    folder = tmp_path / "clips"
    folder.mkdir()
    source = sorted((ROOT / "plugins/erc_bench_datasets/demo_data/audio").iterdir())[0]
    (folder / source.name).write_bytes(source.read_bytes())
    code, output = cli(["transcribe", str(folder), "--out", str(tmp_path / "t.jsonl"), "--cache-dir",
                        str(tmp_path / "cache")])
    assert code == 2 and "install the asr extra" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1


def test_assembled_whisper_is_checked_against_its_sha256(tmp_path: Path) -> None:
    from erc_bench_speech import whisper_model

    from erc_bench.core.cache import Cache

    cache = Cache(tmp_path / "cache")
    folder = Path(whisper_model.resolve_model("base", cache))
    assert whisper_model.assembled_mismatches(folder) == []
    with (folder / "model.bin").open("r+b") as fh:  # one flipped byte in the middle of the weights
        fh.seek(50_000_000)
        byte = fh.read(1)
        fh.seek(50_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(folder / "model.bin", ns=(1, 1))
    assert whisper_model.assembled_mismatches(folder) == ["model.bin"]
    again = Path(whisper_model.resolve_model("base", cache))  # the damaged copy is replaced, then checked
    assert whisper_model.assembled_mismatches(again) == []


def test_hub_revision_is_passed_and_keys_the_cache() -> None:
    from erc_bench_models.text_module import _revision

    from erc_bench.core.plugin_host import build

    plain = build("text_encoder", "hf-text", {"model": "roberta-large"})
    pinned = build("text_encoder", "hf-text", {"model": "roberta-large", "revision": "v1.0"})
    assert plain.fingerprint() != pinned.fingerprint()
    assert _revision("roberta-large", "v1.0") == {"revision": "v1.0"}
    assert _revision(str(ROOT), "v1.0") == {}  # a local folder has no revision
    ssl = build("speech_encoder", "hf-ssl", {"model": "microsoft/wavlm-base-plus", "revision": "abc123"})
    assert ssl._revision() == {"revision": "abc123"}
    assert ssl.fingerprint() != build("speech_encoder", "hf-ssl", {"model": "microsoft/wavlm-base-plus"}).fingerprint()
    asr = build("asr", "faster-whisper", {"model": "base", "batch_size": 1})
    assert asr.fingerprint() != build("asr", "faster-whisper", {"model": "base", "batch_size": 1,
                                                                "revision": "v2"}).fingerprint()
    with pytest.raises(UserError, match="at revision abc123") as raised:  # offline: cannot be fetched, one line
        ssl._load()
    assert "\n" not in str(raised.value)
