"""Stage I speech heads: the CARE authors' head (shapes, pooled slice, optimiser override) and the spec slot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from erc_bench.core.errors import SpecError, UserError
from erc_bench.core.interfaces import Conversation, DatasetSplits, Utterance
from erc_bench.core.plugin_host import build
from erc_bench.core.spec import StageTraining, load_spec


def test_authors_head_shapes_and_pooled_vector_from_the_last_layer() -> None:
    import torch

    head = build("speech_head", "care-authors", {})
    module = head.build(13, 1536, 4).eval()
    assert (module.fc.in_features, module.fc.out_features, module.fc_1.out_features) == (2304, 768, 256)
    x = torch.randn(3, 13, 1536)
    logits, features = module(x)
    assert logits.shape == (3, 4) and features.shape == (3, 256) and module.feature_dim == 256
    changed = x.clone()
    changed[:, -1, :768] += 1.0  # the pooled semantic vector feeds the head twice: weighted layers and concatenated
    assert not torch.allclose(module(changed)[0], logits)
    assert sum(module.layer_weights()) == pytest.approx(1.0)
    with pytest.raises(UserError, match="per-layer embeddings"):
        head.build(None, 768, 4)


def _toy_data() -> tuple[DatasetSplits, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    splits, table = {}, {}
    for split, n in (("train", 6), ("validation", 2), ("test", 2)):
        conversations = []
        for c in range(n):
            utts = []
            for i in range(4):
                uid = f"{split}{c}_{i}"
                label = ("a", "b")[i % 2]
                table[uid] = rng.normal(size=(5, 16)).astype(np.float32) + (2.0 if label == "a" else 0.0)
                utts.append(Utterance(uid, f"{split}{c}", i, "", label))
            conversations.append(Conversation(f"{split}{c}", utts))
        splits[split] = conversations
    return DatasetSplits(name="toy", splits=splits, labels=["a", "b"]), table


def test_stage1_uses_the_spec_head_and_its_optimiser_settings() -> None:
    from erc_bench.recipes.merits_l.stages import train_speech_stage1

    data, table = _toy_data()
    cfg = StageTraining(epochs=3, lr=1e-3, batch_size=4)
    result = train_speech_stage1(table, data, cfg, seed=0, device="cpu",
                                 head=build("speech_head", "care-authors", {"hidden": 32, "feature_dim": 8}))
    assert {v.shape for v in result.features.values()} == {(8,)}
    assert len(result.extras["layer_weights"]) == 5
    default = train_speech_stage1(table, data, cfg, seed=0, device="cpu")
    assert {v.shape for v in default.features.values()} == {(256,)}


def test_predict_rebuilds_the_spec_head_from_its_cached_weights() -> None:
    """``predict`` builds the Stage I speech network from the stage's build card through the same function as
    training, so a system trained with the care-authors head (the paper specs) loads its weights and gives the
    same features; the card holds the head's plugin, params and the sizes taken from the data."""
    import torch

    from erc_bench.recipes.merits_l.networks import build_network
    from erc_bench.recipes.merits_l.stages import train_speech_stage1

    data, table = _toy_data()
    params = {"hidden": 32, "feature_dim": 8}
    result = train_speech_stage1(table, data, StageTraining(epochs=2, lr=1e-3, batch_size=4), seed=0,
                                 device="cpu", head=build("speech_head", "care-authors", params))
    card = result.card
    assert card["network"] == "speech-stage1" and card["sizes"] == {"layers": 5, "width": 16, "hidden": 256,
                                                                    "dropout": 0.2}
    assert card["components"]["speech_head"]["plugin"] == "care-authors"
    assert card["components"]["speech_head"]["params"]["hidden"] == 32
    rebuilt = build_network(card)  # components rebuilt from the card, input statistics from the weights
    rebuilt.load_state_dict(result.state_dict)
    ids = sorted(result.features)[:6]
    with torch.no_grad():
        _, features = rebuilt.eval()(torch.from_numpy(np.stack([table[u] for u in ids])))
    for n, uid in enumerate(ids):
        np.testing.assert_allclose(features[n].numpy(), result.features[uid], rtol=1e-5, atol=1e-6)


def test_spec_slot_validates_the_head_params(tmp_path: Path) -> None:
    spec = tmp_path / "s.toml"
    quickstart = Path(__file__).resolve().parents[1] / "benchmarks" / "quickstart.toml"
    slot = 'speech_head = { plugin = "care-authors", params = { hidden = 0 } }'
    spec.write_text(f'extends = "{quickstart}"\n[model]\n{slot}\n')
    with pytest.raises(SpecError, match="model.speech_head.params.hidden"):
        load_spec(spec)


def test_stage1_settings_per_modality_are_what_trains_is_logged_and_keyed(tmp_path, monkeypatch) -> None:
    """The paper specs' CARE head trains without weight decay; that value is written in the spec
    (``[training.stage1.speech]``), so the optimiser, MLflow's params and the stage's cache key all hold it
    (it used to be applied after the key and the log: MLflow said 0.01 while 0.0 trained)."""
    import torch
    from mlflow.tracking import MlflowClient

    from erc_bench import load_spec, run_tiny_spec

    paper = load_spec("merits_l_full").spec.training.stage1
    assert paper.for_modality("speech").weight_decay == 0.0 and paper.for_modality("text").weight_decay == 0.01

    used: list[float] = []
    original = torch.optim.AdamW.__init__

    def recording(self, params, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        used.append(kwargs.get("weight_decay"))
        return original(self, params, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "__init__", recording)
    speech = {"plugin": "mlp", "params": {"hidden_dim": 8}}
    first = run_tiny_spec(tmp_path, "per-modality", speech_head=speech)
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "\n[training.stage1.speech]\nweight_decay = 0.0\nlr = 0.003\n")
    used.clear()
    from erc_bench.runs.benchmark import run_benchmark

    second = run_benchmark(load_spec(spec), tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                           cache_dir=tmp_path / "cache", limit=3)
    cached = {s.stage: s.cached for s in second.scores}
    assert cached["stage1-text"] and not cached["stage1-speech"]  # only the speech network's key changed
    assert used[0] == 0.0  # the one optimiser built, for stage1-speech, used the spec's value ...
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("per-modality").experiment_id],
                              "tags.erc_bench.stage = 'stage1-speech'", order_by=["attributes.start_time ASC"])
    assert [r.data.params["stage.weight_decay"] for r in runs] == ["0.01", "0.0"]  # ... and MLflow shows it
    assert [r.data.params["stage.lr"] for r in runs] == ["0.0001", "0.003"]
    assert {s.stage for s in first.scores} == set(cached)
