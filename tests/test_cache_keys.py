"""Stage cache keys come from validated params: writing a default out in a spec is the same spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench.core.spec import load_spec

IMPLICIT = 'params = { hidden = 8, heads = 2 }'
EXPLICIT = 'params = { hidden = 8, heads = 2, layers = 1, dropout = 0.2 }'  # bigru-attention's defaults


def _specs(tmp_path: Path) -> tuple[Path, Path, Path]:
    manifest = write_tiny_corpus(tmp_path)
    text = SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2")
    text = text.replace("seeds = [0, 1]", "seeds = [0]").replace("epochs = 3", "epochs = 1")
    assert IMPLICIT in text
    paths = []
    for name, body in (("implicit", text), ("explicit", text.replace(IMPLICIT, EXPLICIT)),
                       ("other", text.replace(IMPLICIT, IMPLICIT.replace("}", ", dropout = 0.3 }")))):
        path = tmp_path / f"{name}.toml"
        path.write_text(body)
        paths.append(path)
    return paths[0], paths[1], paths[2]


def test_loaded_spec_carries_validated_params_with_defaults(tmp_path) -> None:
    implicit, explicit, other = (load_spec(p) for p in _specs(tmp_path))
    assert implicit.params("model.context_model").model_dump() == {"hidden": 8, "heads": 2, "layers": 1,
                                                                    "dropout": 0.2}
    from erc_bench import identity_of

    def identity(loaded):  # noqa: ANN001, ANN202 - what a stage key holds of the context model
        return identity_of(loaded.build("model.context_model"))

    assert identity(implicit) == identity(explicit)
    assert identity(implicit) != identity(other)
    assert identity(implicit)["code"]["package"] == "erc-bench"
    assert set(implicit.components) == {"datasets.0", "system", "model.text_encoder", "model.speech_encoder",
                                        "model.context_model", "model.fusion_head"}


@pytest.mark.slow
def test_writing_a_default_out_reuses_every_cached_stage(tmp_path) -> None:
    from erc_bench.runs.benchmark import run_benchmark

    implicit, explicit, other = _specs(tmp_path)
    cache, uri = tmp_path / "cache", f"sqlite:///{tmp_path / 'm.db'}"
    first = run_benchmark(load_spec(implicit), uri, cache)
    assert [s.cached for s in first.scores] == [False] * 5
    again = run_benchmark(load_spec(explicit), uri, cache)
    assert [s.cached for s in again.scores] == [True] * 5
    assert [s.metrics for s in again.scores] == [s.metrics for s in first.scores]
    changed = run_benchmark(load_spec(other), uri, cache)  # a real change: Stage II and III train again
    assert {s.stage: s.cached for s in changed.scores} == {"stage1-text": True, "stage1-speech": True,
                                                           "stage2-text": False, "stage2-speech": False,
                                                           "stage3-fusion": False}
