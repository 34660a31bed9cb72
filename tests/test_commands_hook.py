"""Plugins contribute CLI commands through ``erc_bench_register_commands``; a broken one loses only its own."""

from __future__ import annotations

from erc_bench.core.hookspecs import hookimpl


def test_a_plugin_whose_commands_fail_loses_only_its_own(plugin_host, register_plugin) -> None:
    import typer

    @hookimpl
    def erc_bench_register_commands(app):  # noqa: ANN001 - pluggy passes the Typer app by name
        raise RuntimeError("needs libbar")

    register_plugin("broken-commands", erc_bench_register_commands=erc_bench_register_commands)
    app = typer.Typer()
    plugin_host.register_commands(app)
    names = {command.name for command in app.registered_commands}
    assert {"transcribe", "asr-eval"} <= names  # the speech plugin's commands still arrive
    assert any("needs libbar" in f.error and f.source.package == "test-broken-commands"
               for f in plugin_host.failures)
