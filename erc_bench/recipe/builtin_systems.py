"""The engine's own system, registered through the same entry-point group and hook as every plugin.

``merits-l`` is MERITS-L's staged recipe (``merits_l.MeritsL``): the system a spec
runs when it names no ``[system]``, configured by its ``[model]``, ``[training]``
and ``[pretrain]`` sections, so it has no params of its own. Importing this module
is cheap: the recipe is imported when a run starts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from erc_bench.core.hookspecs import Register, hookimpl
from erc_bench.core.interfaces import NoParams


class MeritsLSystem:
    """MERITS-L (Dutta & Ganapathy): LLM-guided text pre-training, then Stage I per modality, Stage II context
    per modality and Stage III fusion, each cached and logged as its own stage; set by [model], [training] and
    [pretrain]."""

    name: ClassVar[str] = "merits-l"
    Params: ClassVar[type[NoParams]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def recipe(self, loaded: Any, console: Any) -> Any:
        from erc_bench.recipe.merits_l import MeritsL

        return MeritsL(loaded, console)


@hookimpl
def erc_bench_register_systems(register: Register) -> None:
    register(MeritsLSystem)
