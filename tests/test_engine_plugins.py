"""Plugin discovery and registries: duplicates, unknown names, broken plugins, light imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from erc_bench.errors import PluginError
from erc_bench.hookspecs import hookimpl
from erc_bench.interfaces import KINDS
from erc_bench.plugins import PluginHost


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fusion(name: str) -> type:
    return type(f"Fusion_{name}", (), {"name": name, "Params": _Params, "__init__": lambda self, p: None})


def test_builtins_register_every_kind(plugin_host) -> None:
    registries = plugin_host.registries
    assert set(registries) == set(KINDS)
    for kind in KINDS:
        assert registries[kind].names(), f"no built-in {kind}"
    assert plugin_host.failures == []
    source = registries["fusion_head"].get("co-attention").source
    assert source.package == "erc-bench" and source.plugin == "models"


def test_duplicate_name_names_both_sources(plugin_host, register_plugin) -> None:
    @hookimpl
    def erc_bench_register_fusion_heads(register):  # noqa: ANN001
        register(_fusion("co-attention"))

    register_plugin("dupe", erc_bench_register_fusion_heads=erc_bench_register_fusion_heads)
    with pytest.raises(PluginError) as err:
        _ = plugin_host.registries
    message = str(err.value)
    assert "duplicate fusion_head 'co-attention'" in message
    assert "erc-bench" in message and "test-dupe" in message


def test_unknown_name_suggests_closest(plugin_host) -> None:
    with pytest.raises(PluginError) as err:
        plugin_host.get("fusion_head", "co-atention")
    assert "did you mean 'co-attention'" in str(err.value)
    assert "concat" in str(err.value)  # the known names are listed


def test_class_without_params_is_rejected(plugin_host, register_plugin) -> None:
    @hookimpl
    def erc_bench_register_labellers(register):  # noqa: ANN001
        register(type("NoParams", (), {"name": "no-params"}))

    register_plugin("bad", erc_bench_register_labellers=erc_bench_register_labellers)
    with pytest.raises(PluginError, match="has no 'Params' model"):
        _ = plugin_host.registries


def _fake_distribution(tmp_path: Path, module_body: str, name: str) -> None:
    """A real installed-distribution layout (dist-info + entry_points.txt) on sys.path."""
    (tmp_path / f"{name}.py").write_text(module_body)
    info = tmp_path / f"{name}-9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 9.9\n")
    (info / "entry_points.txt").write_text(f"[erc_bench]\n{name} = {name}\n")


def test_broken_plugin_is_reported_and_others_keep_working(tmp_path, monkeypatch) -> None:
    _fake_distribution(tmp_path, "raise ImportError('needs libfoo')\n", "broken_erc_plugin")
    _fake_distribution(tmp_path, textwrap.dedent("""
        from pydantic import BaseModel
        from erc_bench.hookspecs import hookimpl
        class P(BaseModel):
            pass
        class Good:
            name = "good-labeller"
            Params = P
        @hookimpl
        def erc_bench_register_labellers(register):
            register(Good)
        """), "good_erc_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    h = PluginHost()
    failures = {f.source.package: f for f in h.failures}
    assert "broken_erc_plugin" in failures
    assert failures["broken_erc_plugin"].source.version == "9.9"
    assert "needs libfoo" in failures["broken_erc_plugin"].error
    assert "good-labeller" in h.registries["labeller"].names()
    assert "co-attention" in h.registries["fusion_head"].names()


def test_plugins_command_imports_no_heavy_library() -> None:
    code = textwrap.dedent("""
        import sys
        from typer.testing import CliRunner
        from erc_bench.cli import app
        result = CliRunner().invoke(app, ["plugins"])
        assert result.exit_code == 0, result.output
        heavy = [m for m in ("torch", "transformers", "ctranslate2", "faster_whisper", "openai", "anthropic",
                             "together", "mlflow") if m in sys.modules]
        print("HEAVY", heavy)
        print(result.output)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    for kind in KINDS:
        assert kind in out.stdout
