"""The ``[execution]`` spec section: local by default, ``--set execution.engine=ray`` valid on every shipped
spec, mistakes one line naming the key; the engine choice never changes a cache key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from erc_bench.core.errors import SpecError
from erc_bench.core.execution import ExecutionSection
from erc_bench.core.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def test_local_is_the_default_and_needs_no_ray() -> None:
    loaded = load_spec(ROOT / "benchmarks" / "quickstart.toml")
    assert loaded.spec.execution.engine == "local"


def test_spec_loading_does_not_import_ray(tmp_path: Path) -> None:
    import subprocess

    code = ("import sys; from erc_bench.core.spec import load_spec; "
            f"load_spec({str(ROOT / 'benchmarks' / 'quickstart.toml')!r}, ['execution.engine=ray']); "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_engine_ray_is_valid_on_every_shipped_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERC_DATA", "/data")
    monkeypatch.setenv("CARE_CHECKPOINT", "/care.pt")
    specs = sorted((ROOT / "benchmarks").rglob("*.toml"))
    assert len(specs) >= 25
    for spec in specs:
        if "[care_pretrain]" in spec.read_text():  # CARE pre-training specs are not benchmark specs
            continue
        loaded = load_spec(spec, ["execution.engine=ray", "execution.asr.actors=4",
                                  "execution.speech_embeddings.gpus_per_actor=0.5"])
        assert loaded.spec.execution.engine == "ray"
        assert loaded.spec.execution.asr.actors == 4
        assert loaded.spec.execution.speech_embeddings.gpus_per_actor == 0.5


@pytest.mark.parametrize(("override", "key_path"), [
    ("execution.engine=spark", "execution.engine"),
    ("execution.address='http://head'", "execution.address"),
    ("execution.asr.actors=0", "execution.asr.actors"),
    ("execution.speech_embeddings.cpu=2", "execution.speech_embeddings.cpu"),
])
def test_mistakes_name_the_key(cli, override: str, key_path: str) -> None:  # noqa: ANN001
    spec = ROOT / "benchmarks" / "quickstart.toml"
    with pytest.raises(SpecError) as error:
        load_spec(spec, [override])
    assert error.value.key_path == key_path
    code, output = cli(["validate", str(spec), "--set", override])
    assert code == 2 and f"{key_path}:" in output and "Traceback" not in output


def test_addresses_accepted() -> None:
    for address in ("auto", "local", "ray://head.example:10001", "10.0.0.5:6379"):
        assert ExecutionSection(engine="ray", address=address).address == address
