"""Plugin discovery and registries: duplicates, unknown names, broken plugins, light imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from erc_bench.core.errors import PluginError
from erc_bench.core.hookspecs import hookimpl
from erc_bench.core.interfaces import KINDS
from erc_bench.core.plugin_host import PluginHost


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fusion(name: str) -> type:
    return type(f"Fusion_{name}", (), {"name": name, "Params": _Params, "__init__": lambda self, p: None,
                                        "build": lambda self, text_dim, speech_dim, num_labels: None})


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
    assert "concat" in plugin_host.registries["fusion_head"].names()  # the rest of the registry still works
    with pytest.raises(PluginError) as err:  # a spec naming the clashed component stops, naming both packages
        plugin_host.get("fusion_head", "co-attention")
    message = str(err.value)
    assert "fusion_head 'co-attention' is registered by two packages" in message
    assert "erc-bench" in message and "test-dupe" in message
    assert [(k, n) for k, n, _ in plugin_host.component_failures()] == [("fusion_head", "co-attention")]


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
    assert "lexicon" in plugin_host.registries["labeller"].names()  # only the broken class is left out
    with pytest.raises(PluginError, match="no-params' of plugin package test-bad .*has no 'Params' model"):
        plugin_host.get("labeller", "no-params")


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
        from erc_bench.core.hookspecs import hookimpl
        class P(BaseModel):
            pass
        class Good:
            name = "good-labeller"
            Params = P
            def __init__(self, params): ...
            def label(self, texts): ...
            def fingerprint(self): ...
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


def test_class_missing_a_protocol_method_is_rejected_naming_it(plugin_host, register_plugin) -> None:
    @hookimpl
    def erc_bench_register_labellers(register):  # noqa: ANN001
        register(type("Half", (), {"name": "half", "Params": _Params, "fingerprint": lambda self: "x"}))

    register_plugin("half", erc_bench_register_labellers=erc_bench_register_labellers)
    assert "half" not in plugin_host.registries["labeller"].names()
    with pytest.raises(PluginError, match="does not implement the Labeller interface: missing label"):
        plugin_host.get("labeller", "half")


def test_engine_never_imports_a_builtin_plugin_package() -> None:
    """The engine talks to plugins only through hooks and Protocols: no module under erc_bench/ names one."""
    import ast

    engine = Path(__file__).resolve().parent.parent / "erc_bench"
    offenders = []
    for path in sorted(engine.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(engine)}: {n}" for n in names if n.split(".")[0].startswith("erc_bench_")]
    assert offenders == []


def test_help_and_plugins_list_commands_contributed_by_plugins() -> None:
    """``transcribe`` comes from the speech plugin's ``erc_bench_register_commands`` hook, not from the engine."""
    from typer.testing import CliRunner

    from erc_bench.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("transcribe", "asr-eval", "pretrain", "label-agreement", "data", "cache", "run"):
        assert command in result.output


# The engine's import contract (in the manner of import-linter's): each folder, by role, and the folders it may
# import. Nothing imports upwards; siblings (train, features) stay independent; report reads what tracking wrote
# and never trains; runs reach a recipe only through the plugin host (a StagedSystem), never by import.
IMPORT_CONTRACT: dict[str, set[str]] = {
    "core": set(),
    "tracking": {"core"},
    "train": {"core"},
    "features": {"core"},
    "runs": {"core", "tracking", "train", "features"},
    "recipes": {"core", "tracking", "train", "features", "runs"},
    "report": {"core", "tracking"},
    "cli": {"core", "tracking", "train", "features", "runs", "recipes", "report"},
}


def _contract_offenders(engine: Path) -> list[str]:
    """Every import (runtime or inside functions; ``TYPE_CHECKING`` blocks aside) that breaks the contract,
    including ``from erc_bench import name`` where the public name lives in a folder the importer may not use."""
    import ast

    from erc_bench import _PUBLIC

    offenders = []
    for folder, allowed in IMPORT_CONTRACT.items():
        for path in sorted((engine / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                           and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
            for node in ast.walk(tree):
                if id(node) in typing_only:
                    continue
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module] if node.module != "erc_bench" else [
                        _PUBLIC.get(a.name, "erc_bench") for a in node.names]
                elif isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                else:
                    continue
                for module in modules:
                    parts = module.split(".")
                    if parts[0] != "erc_bench" or len(parts) < 2 or parts[1] not in IMPORT_CONTRACT:
                        continue
                    if parts[1] != folder and parts[1] not in allowed:
                        offenders.append(f"{path.relative_to(engine)}:{node.lineno} imports {module}")
    return offenders


def test_engine_folders_keep_their_import_contract() -> None:
    engine = Path(__file__).resolve().parent.parent / "erc_bench"
    folders = {p.name for p in engine.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders - {"templates"} == set(IMPORT_CONTRACT)  # a new folder declares its place here
    for folder in IMPORT_CONTRACT:  # each folder says what it is for
        assert len(ast_docstring(engine / folder / "__init__.py")) > 80, folder
    assert _contract_offenders(engine) == []


def test_the_import_contract_sees_an_upward_import(tmp_path: Path) -> None:
    """The contract check is not vacuous: an upward import (inside a function, or through the public API) fails."""
    import shutil

    engine = tmp_path / "erc_bench"
    shutil.copytree(Path(__file__).resolve().parent.parent / "erc_bench", engine)
    (engine / "core" / "bad.py").write_text("def f():\n    from erc_bench.runs.benchmark import run_benchmark\n")
    (engine / "train" / "bad.py").write_text("from erc_bench import Tracker\n")
    assert sorted(_contract_offenders(engine)) == [
        "core/bad.py:2 imports erc_bench.runs.benchmark", "train/bad.py:1 imports erc_bench.tracking.tracker"]


def ast_docstring(path: Path) -> str:
    import ast

    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _engine_imports(path: Path) -> list[str]:
    """Every ``erc_bench.<submodule>`` a file imports: at the top, inside functions, under TYPE_CHECKING, or
    by name through ``importlib.import_module`` / ``__import__``."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("import_module", "__import__")):
            names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        else:
            continue
        found += [f"{n} (line {node.lineno})" for n in names if n.startswith("erc_bench.")]
    return found


def test_plugins_and_examples_use_only_the_public_api() -> None:
    """A plugin that reaches into ``erc_bench.core`` / ``recipe`` / ``report`` / ``cli`` (or ``erc_bench.testing``:
    its names are re-exported) breaks when the engine moves a module; ``from erc_bench import ...`` does not."""
    root = Path(__file__).resolve().parent.parent
    offenders = [f"{path.relative_to(root)}: {name}" for folder in ("plugins", "examples")
                 for path in sorted((root / folder).rglob("*.py")) for name in _engine_imports(path)]
    assert offenders == []


def test_the_import_ban_sees_every_form_of_import(tmp_path: Path) -> None:
    """The ban's own check: an import hidden in a function, under TYPE_CHECKING or by string is still found."""
    module = tmp_path / "sneaky.py"
    module.write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        import importlib
        from erc_bench import UserError
        import erc_bench
        if TYPE_CHECKING:
            from erc_bench.core.cache import Cache
        def f():
            import erc_bench.train.loop as loop
            from erc_bench.tracking import tracker
            return importlib.import_module("erc_bench.cli.app")
    """), encoding="utf-8")
    assert [n.split(" ")[0] for n in _engine_imports(module)] == [
        "erc_bench.core.cache", "erc_bench.train.loop", "erc_bench.tracking", "erc_bench.cli.app"]


def test_every_public_name_resolves() -> None:
    """Each entry of the lazy public map names a module that really defines it (a typo would only fail when a
    plugin first used the name)."""
    import erc_bench

    missing = [name for name in erc_bench.__all__ if not hasattr(erc_bench, name)]
    assert missing == []


def test_no_module_of_a_builtin_plugin_imports_one_that_imports_it_back() -> None:
    """One direction per pair (the labellers' ``llm`` uses ``batch``, never the reverse): an import cycle, even
    through a function-level or TYPE_CHECKING import, means two modules that cannot be read or changed alone."""
    import ast

    plugins = Path(__file__).resolve().parent.parent / "plugins"
    cycles = []
    for package in sorted(p for p in plugins.iterdir() if (p / "__init__.py").is_file()):
        graph: dict[str, set[str]] = {}
        for path in package.glob("*.py"):
            deps: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                deps |= {n for n in names if n.startswith(f"{package.name}.")}
            graph[f"{package.name}.{path.stem}"] = deps
        state: dict[str, int] = {}

        def visit(module: str, stack: list[str], graph: dict[str, set[str]] = graph,
                  state: dict[str, int] = state) -> None:
            state[module] = 1
            for dep in sorted(graph.get(module, ())):
                if state.get(dep) == 1:
                    cycles.append(" -> ".join([*stack[stack.index(dep):], dep]))
                elif dep not in state:
                    visit(dep, [*stack, dep])
            state[module] = 2

        for module in sorted(graph):
            if module not in state:
                visit(module, [module])
    assert cycles == []


def test_the_public_api_is_visible_to_a_type_checker_and_equal_to_the_lazy_map() -> None:
    """``erc_bench/__init__.py`` imports every public name under ``TYPE_CHECKING`` (what mypy reads) and resolves
    the same names lazily at run time (``_PUBLIC``): the two lists must not drift apart."""
    import ast

    import erc_bench

    tree = ast.parse((Path(erc_bench.__file__)).read_text(encoding="utf-8"))
    checked = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for item in node.body:
                if isinstance(item, ast.ImportFrom):
                    checked.update({alias.name: item.module for alias in item.names})
    assert checked == erc_bench._PUBLIC
