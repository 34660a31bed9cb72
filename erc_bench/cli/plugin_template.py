"""``erc-bench new-plugin NAME``: a plugin package to start from, written from ``erc_bench/templates/plugin``.

The template is a working package (a context model, a fusion head, a labeller, their tests through erc-bench's
pytest fixtures); its files end in ``.tmpl`` so that nothing treats them as the engine's own modules. Writing
it renames the placeholder package (``erc-bench-plugin-template`` / ``erc_bench_plugin_template``) and the
components' prefix (``plugin-template-``) after NAME.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from erc_bench.core.errors import UserError

PLACEHOLDER_DIST = "erc-bench-plugin-template"
PLACEHOLDER_MODULE = "erc_bench_plugin_template"
PLACEHOLDER_PREFIX = "plugin-template"
SUFFIX = ".tmpl"


def names_for(name: str) -> tuple[str, str, str]:
    """(distribution, module, component prefix) for a package name such as ``erc-bench-tensor-fusion``."""
    dist = name.strip().lower().replace("_", "-")
    if not re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", dist):
        raise UserError(f"new-plugin: '{name}' is not a package name (letters, digits and '-', e.g. "
                        "erc-bench-tensor-fusion)")
    if not dist.startswith("erc-bench-"):
        dist = f"erc-bench-{dist}"
    prefix = dist.removeprefix("erc-bench-")
    return dist, dist.replace("-", "_"), prefix


def write_plugin_package(name: str, out: Path) -> Path:
    """Write the package folder ``out/<distribution>``; refuses to overwrite an existing folder."""
    dist, module, prefix = names_for(name)
    target = out / dist
    if target.exists():
        raise UserError(f"new-plugin: {target} exists; choose another name or --out")
    root = files("erc_bench") / "templates" / "plugin"
    for source in _walk(Path(str(root))):
        relative = source.relative_to(Path(str(root))).as_posix().removesuffix(SUFFIX)
        text = source.read_text(encoding="utf-8")
        for old, new in ((PLACEHOLDER_DIST, dist), (PLACEHOLDER_MODULE, module), (PLACEHOLDER_PREFIX, prefix)):
            text, relative = text.replace(old, new), relative.replace(old, new)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return target


def _walk(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(f"*{SUFFIX}") if p.is_file())
