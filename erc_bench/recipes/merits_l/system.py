"""The engine's own system, registered through the same entry-point group and hook as every plugin.

``merits-l`` is MERITS-L's staged recipe (``recipe.MeritsL``): the system a spec
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
        from erc_bench.recipes.merits_l.recipe import MeritsL

        return MeritsL(loaded, console)

    def predict_saved(self, manifest: dict[str, Any], conversations: list[Any], cache: Any,
                      progress: Any = None) -> list[Any]:
        from erc_bench.recipes.merits_l.predict import predict_staged

        return predict_staged(manifest, conversations, cache, progress)


@hookimpl
def erc_bench_register_systems(register: Register) -> None:
    register(MeritsLSystem)
