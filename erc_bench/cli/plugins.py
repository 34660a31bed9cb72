"""Commands for plugin users and authors: ``plugins`` (what is installed, what failed, one component's params)
and ``new-plugin`` (a package skeleton that passes the contract checks)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from erc_bench.cli.console import console, err_console
from erc_bench.core.errors import UserError


def plugins(name: str | None = typer.Argument(None, help="A component's name: print its params, package, version "
                                                         "and description."),
            kind: str | None = typer.Option(None, "--kind", help="The kind, where two kinds share the name."),
            params: bool = typer.Option(False, "--params", help="With no NAME: every component's params.")) -> None:
    """List every registered component with its package, and every plugin that failed to load and why."""
    from erc_bench.core.plugin_host import host

    h = host()
    if name is not None:
        _describe(h, name, kind)
        return
    table = Table(title="erc-bench components")
    for column in ("kind", "name", "package", "version", "plugin", *(("params",) if params else ())):
        table.add_column(column)
    for kind_name, registry in h.registries.items():
        for component in registry.names():
            entry = registry.entries[component]
            src = entry.source
            extra = (", ".join(entry.cls.Params.model_fields),) if params else ()
            table.add_row(kind_name, component, src.package, src.version, src.plugin, *extra)
    console.print(table)
    for failure in h.failures:
        err_console.print(f"[red]plugin package failed to load[/red]: {escape(str(failure.source))}: "
                          f"{escape(failure.error)}")
    for kind_name, component, failure in h.component_failures():
        err_console.print(f"[red]{kind_name} '{escape(component)}' left out[/red]: {escape(str(failure.source))}: "
                          f"{escape(failure.error)}")


def _describe(h: Any, name: str, kind: str | None) -> None:
    from erc_bench.core.code_identity import code_identity, describe_code

    found = [(k, r.entries[name]) for k, r in h.registries.items() if name in r.entries and kind in (None, k)]
    if not found:
        kinds = [kind] if kind else list(h.registries)
        errors = []
        for k in kinds:
            try:
                h.get(k, name)
            except UserError as exc:
                errors.append(str(exc))
        failed = [e for e in errors if not e.startswith("unknown")]
        raise UserError(failed[0] if failed else f"no component named '{name}' (erc-bench plugins lists them)")
    for kind_name, entry in found:
        doc = inspect.getdoc(entry.cls) or ""
        console.print(f"[bold]{kind_name} '{escape(name)}'[/bold]: {escape(entry.cls.__module__)}."
                      f"{escape(entry.cls.__qualname__)}, {escape(describe_code(code_identity(entry.cls)))}, "
                      f"entry point '{escape(entry.source.plugin)}'")
        if doc:
            console.print(escape(doc.split("\n\n", 1)[0]), highlight=False)
        table = Table(title=f"params of {kind_name} '{name}'")
        for column in ("param", "type", "default", "description"):
            table.add_column(column)
        for field_name, field in entry.cls.Params.model_fields.items():
            default = "(required)" if field.is_required() else repr(field.get_default(call_default_factory=True))
            table.add_row(field_name, _type_name(field.annotation), default, field.description or "")
        console.print(table if entry.cls.Params.model_fields else "(no params)")


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


def new_plugin(name: str = typer.Argument(..., help="The package's name, e.g. 'erc-bench-tensor-fusion'."),
               out: Path = typer.Option(Path("."), "--out", help="Folder to create the package folder in.")) -> None:
    """Write a plugin package skeleton (a context model, a fusion head, a labeller, their tests) to start from."""
    from erc_bench.cli.plugin_template import write_plugin_package

    folder = write_plugin_package(name, out)
    console.print(f"wrote {folder}\nnext: pip install -e {folder} && pytest {folder / 'tests'}; "
                  f"erc-bench plugins lists its components; the guide is docs/plugins.md")


def register(app: typer.Typer) -> None:
    app.command()(plugins)
    app.command("new-plugin")(new_plugin)
