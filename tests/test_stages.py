"""Stage trainers on a tiny synthetic corpus: learning, frozen inputs, test isolation, determinism."""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from rich.progress import Progress

from erc_bench.core.cache import Cache
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import Conversation, DatasetSplits, Utterance
from erc_bench.core.plugin_host import PluginHost, build
from erc_bench.core.spec import StageTraining
from erc_bench.recipes.merits_l import stages
from erc_bench.train.stage_result import StageResult

LABELS = ["negative", "neutral", "positive"]
CFG = StageTraining(epochs=8, lr=1e-2, batch_size=8, weight_decay=0.01)
TIMINGS: dict[str, float] = {}


def make_corpus(seed: int = 0, sizes: tuple[int, int, int] = (24, 8, 8), purity: float = 0.8) -> DatasetSplits:
    """Conversations with a mood; a fraction ``purity`` of utterances carry the mood's label."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, count in zip(("train", "validation", "test"), sizes, strict=True):
        conversations = []
        for c in range(count):
            cid = f"{split}{c}"
            mood = int(rng.integers(3))
            utterances = []
            for position in range(int(rng.integers(3, 8))):
                label = mood if rng.random() < purity else int(rng.integers(3))
                utterances.append(Utterance(f"{cid}_u{position}", cid, position, "", LABELS[label]))
            conversations.append(Conversation(cid, utterances))
        splits[split] = conversations
    return DatasetSplits("synthetic", list(LABELS), splits)


def make_features(data: DatasetSplits, dim: int = 16, noise: float = 1.5, seed: int = 1) -> dict[str, np.ndarray]:
    """Class centre + Gaussian noise: separable, but not perfectly."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(data.labels), dim))
    return {u.id: (centres[data.labels.index(u.label)] + rng.normal(scale=noise, size=dim)).astype(np.float32)
            for split in data.splits for u in data.utterances(split)}


def read_only(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {k: v.copy() for k, v in features.items()}
    for v in out.values():
        v.flags.writeable = False
    return out


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost()


@pytest.fixture(scope="module")
def data() -> DatasetSplits:
    return make_corpus()


@pytest.fixture(scope="module")
def features(data: DatasetSplits) -> dict[str, np.ndarray]:
    return make_features(data)


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> None:
    torch.set_num_threads(1)
    yield
    print("\nstage timings on the tiny corpus (s): " + ", ".join(f"{k} {v:.2f}" for k, v in TIMINGS.items()))


def timed(name: str, fn, *args, **kwargs) -> StageResult:  # noqa: ANN001
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    TIMINGS[name] = time.perf_counter() - start
    return result


def check_result(result: StageResult, data: DatasetSplits, min_val_wf1: float = 0.6) -> None:
    assert result.metrics["validation"]["weighted_f1"] > min_val_wf1, result.metrics["validation"]
    assert set(result.metrics) == {"train", "validation", "test"}
    for split in ("train", "validation", "test"):
        ids = [u.id for u in data.utterances(split)]
        assert [p[0] for p in result.predictions[split]] == ids
        assert [p[1] for p in result.predictions[split]] == [u.label for u in data.utterances(split)]
        assert np.asarray(result.confusion[split]).sum() == len(ids)
        assert all(0.0 <= result.metrics[split][f"f1/{label}"] <= 1.0 for label in LABELS)
    assert len(result.features) == sum(len(data.utterances(s)) for s in data.splits)
    assert 1 <= result.best_epoch <= CFG.epochs and len(result.history) == CFG.epochs
    best = max(h["val_weighted_f1"] for h in result.history)
    assert result.history[result.best_epoch - 1]["val_weighted_f1"] == best
    assert result.metrics["validation"]["weighted_f1"] == pytest.approx(best)
    assert result.n_missing == 0


def test_speech_stage1_learns_with_layer_weighting(data: DatasetSplits) -> None:
    informative = make_features(data, dim=12, noise=1.0)
    rng = np.random.default_rng(5)
    layered = {k: np.stack([rng.normal(size=12).astype(np.float32), v]) for k, v in informative.items()}
    result = timed("speech-stage1", stages.train_speech_stage1, layered, data, CFG, seed=0, device="cpu",
                   hidden_dim=32)
    check_result(result, data)
    assert result.stage == "stage1-speech"
    assert next(iter(result.features.values())).shape == (32,)
    low, high = result.extras["layer_weights"]
    assert high > low  # the informative layer gains weight


@pytest.mark.parametrize(("name", "params"), [("bigru-attention", {"hidden": 16, "heads": 2}),
                                              ("none", {"hidden": 32}), ("mean-pool", {"hidden": 32})])
def test_context_stage2_learns(host: PluginHost, data: DatasetSplits, features: dict, name: str,
                               params: dict) -> None:
    context = build("context_model", name, params, plugin_host=host)
    result = timed(f"stage2 {name}", stages.train_context_stage2, context, features, data, CFG, seed=0,
                   device="cpu")
    check_result(result, data)


def test_stage2_uses_conversation_context(host: PluginHost) -> None:
    """Only each conversation's first utterance says the mood; context models must carry it to the rest."""
    data = make_corpus(seed=3, sizes=(40, 10, 10), purity=1.0)
    rng = np.random.default_rng(4)
    mood_vectors = 3.0 * np.eye(3, 8, dtype=np.float32)
    feats = {}
    for split in data.splits:
        for conv in data.splits[split]:
            mood = data.labels.index(conv.utterances[0].label)
            for u in conv.utterances:
                cue = mood_vectors[mood] if u.position == 0 else 0.0
                feats[u.id] = rng.normal(size=8).astype(np.float32) * 0.1 + cue
    cfg = StageTraining(epochs=15, lr=5e-3, batch_size=8)
    scores = {}
    for name in ("bigru-attention", "none"):
        context = build("context_model", name, {"hidden": 16} if name == "none" else {"hidden": 16, "heads": 2},
                        plugin_host=host)
        scores[name] = stages.train_context_stage2(context, feats, data, cfg, seed=0, device="cpu"
                                                   ).metrics["validation"]["weighted_f1"]
    assert scores["bigru-attention"] > scores["none"] + 0.2, scores


@pytest.mark.parametrize(("name", "params"), [("co-attention", {"d_model": 16, "heads": 2}),
                                              ("co-attention", {"d_model": 16, "heads": 2, "combine": "time"}),
                                              ("concat", {"hidden": 16}), ("late", {})])
def test_fusion_stage3_learns(host: PluginHost, data: DatasetSplits, features: dict, name: str,
                              params: dict) -> None:
    speech = make_features(data, dim=10, noise=2.0, seed=9)
    fusion = build("fusion_head", name, params, plugin_host=host)
    result = timed(f"stage3 {name}-{params.get('combine', '')}", stages.train_fusion_stage3, fusion, features,
                   speech, data, CFG, seed=0, device="cpu")
    check_result(result, data)
    assert next(iter(result.features.values())).shape == (3,)  # the fused logits
    assert result.stage == "stage3-fusion"


def test_joint_training_learns(host: PluginHost, data: DatasetSplits, features: dict) -> None:
    speech = make_features(data, dim=10, noise=2.0, seed=9)
    context = build("context_model", "bigru-attention", {"hidden": 8, "heads": 2}, plugin_host=host)
    fusion = build("fusion_head", "co-attention", {"d_model": 16, "heads": 2}, plugin_host=host)
    result = timed("joint", stages.train_joint, context, fusion, features, speech, data, CFG, seed=0, device="cpu")
    check_result(result, data)
    assert result.stage == "joint-fusion"
    assert any(k.startswith("text_context.gru") for k in result.state_dict)
    assert any(k.startswith("speech_context.gru") for k in result.state_dict)


def test_text_pretraining_then_stage1(data: DatasetSplits, tmp_path) -> None:  # noqa: ANN001
    """Pre-train (3 classes), save, reload as the Stage I encoder of a 2-class corpus, fine-tune again."""
    from erc_bench_models.text import HFTextEncoder

    words = {"negative": ["awful", "terrible", "sad"], "neutral": ["table", "chair", "paper"],
             "positive": ["great", "happy", "love"]}
    rng = np.random.default_rng(2)
    texts = {u.id: " ".join([*rng.choice(words[u.label], 2), *rng.choice(["the", "it", "was", "so"], 2)])
             for split in data.splits for u in data.utterances(split)}
    encoder = HFTextEncoder(HFTextEncoder.Params(
        model="sentence-transformers/all-MiniLM-L6-v2", max_length=16, hidden_dim=16,
        random_config={"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "intermediate_size": 64, "max_position_embeddings": 64}))
    cfg = StageTraining(epochs=4, lr=2e-3, batch_size=16)
    pretrain = DatasetSplits("pseudo", data.labels, {k: v for k, v in data.splits.items() if k != "test"})
    result, classifier = timed("text-pretrain", stages.fine_tune_text, encoder, pretrain, texts, cfg, seed=0,
                               device="cpu", stage="pretrain", keep_features=False)
    assert result.metrics["validation"]["weighted_f1"] > 0.8, result.history
    assert result.features == {} and "test" not in result.metrics
    checkpoint = classifier.save_pretrained(tmp_path / "pretrained")

    binary = DatasetSplits("binary", ["negative", "other"], {
        split: [Conversation(c.id, [replace(u, label="negative" if u.label == "negative" else "other")
                                    for u in c.utterances]) for c in convs] for split, convs in data.splits.items()})
    stage1_encoder = HFTextEncoder(HFTextEncoder.Params(model=str(checkpoint), max_length=16, hidden_dim=16))
    stage1 = timed("text-stage1", stages.train_text_stage1, stage1_encoder, binary, texts, cfg, seed=0, device="cpu")
    assert stage1.metrics["validation"]["weighted_f1"] > 0.8, stage1.history
    assert next(iter(stage1.features.values())).shape == (16,) and stage1.stage == "stage1-text"
    assert stage1.state_dict["output.1.weight"].shape == (2, 16)


def test_later_stages_leave_their_inputs_untouched(host: PluginHost, data: DatasetSplits, features: dict) -> None:
    stage1 = stages.train_speech_stage1(read_only(features), data, CFG, seed=0, device="cpu", hidden_dim=16)
    stage1_features, stage1_state = read_only(stage1.features), copy.deepcopy(stage1.state_dict)
    context = build("context_model", "bigru-attention", {"hidden": 8, "heads": 2}, plugin_host=host)
    stage2 = stages.train_context_stage2(context, stage1_features, data, CFG, seed=0, device="cpu")
    stage2_speech = stages.train_context_stage2(context, read_only(features), data, CFG, seed=1, device="cpu")
    assert_same_arrays(stage1_features, stage1.features)
    assert_same_state(stage1_state, stage1.state_dict)
    text_in, speech_in = read_only(stage2.features), read_only(stage2_speech.features)
    states = copy.deepcopy(stage2.state_dict), copy.deepcopy(stage2_speech.state_dict)
    fusion = build("fusion_head", "co-attention", {"d_model": 16, "heads": 2}, plugin_host=host)
    stages.train_fusion_stage3(fusion, text_in, speech_in, data, CFG, seed=0, device="cpu")
    stages.train_joint(context, fusion, stage1_features, read_only(features), data, CFG, seed=0, device="cpu")
    assert_same_arrays(text_in, stage2.features)
    assert_same_arrays(speech_in, stage2_speech.features)
    assert_same_state(states[0], stage2.state_dict)
    assert_same_state(states[1], stage2_speech.state_dict)


def _corrupt_test(data: DatasetSplits, features: dict[str, np.ndarray]) -> tuple[DatasetSplits, dict]:
    """Rotate every test label and replace every test feature by noise."""
    rng = np.random.default_rng(11)
    test = [Conversation(c.id, [replace(u, label=LABELS[(LABELS.index(u.label) + 1) % 3]) for u in c.utterances])
            for c in data.splits["test"]]
    corrupted = DatasetSplits(data.name, data.labels, {**data.splits, "test": test})
    test_ids = {u.id for u in data.utterances("test")}
    noisy = {k: (rng.normal(size=v.shape).astype(np.float32) if k in test_ids else v) for k, v in features.items()}
    return corrupted, noisy


@pytest.mark.parametrize("stage", ["speech-stage1", "stage2", "stage3"])
def test_test_split_never_reaches_model_selection(host: PluginHost, data: DatasetSplits, features: dict,
                                                  stage: str) -> None:
    corrupted, noisy = _corrupt_test(data, features)

    def run(d: DatasetSplits, f: dict) -> StageResult:
        if stage == "speech-stage1":
            return stages.train_speech_stage1(f, d, CFG, seed=0, device="cpu", hidden_dim=16)
        if stage == "stage2":
            context = build("context_model", "bigru-attention", {"hidden": 8, "heads": 2}, plugin_host=host)
            return stages.train_context_stage2(context, f, d, CFG, seed=0, device="cpu")
        fusion = build("fusion_head", "co-attention", {"d_model": 16, "heads": 2}, plugin_host=host)
        return stages.train_fusion_stage3(fusion, f, features, d, CFG, seed=0, device="cpu")

    clean, dirty = run(data, features), run(corrupted, noisy)
    assert clean.best_epoch == dirty.best_epoch
    assert clean.history == dirty.history
    assert clean.metrics["validation"] == dirty.metrics["validation"]
    assert clean.metrics["train"] == dirty.metrics["train"]
    assert_same_state(clean.state_dict, dirty.state_dict)
    assert clean.metrics["test"] != dirty.metrics["test"]  # the corruption did reach the test evaluation


def test_same_seed_same_result_other_seed_differs(host: PluginHost, data: DatasetSplits, features: dict) -> None:
    def run(seed: int) -> StageResult:
        context = build("context_model", "bigru-attention", {"hidden": 8, "heads": 2}, plugin_host=host)
        return stages.train_context_stage2(context, features, data, CFG, seed=seed, device="cpu")

    first, again, other = run(0), run(0), run(1)
    assert first.history == again.history and first.metrics == again.metrics
    assert_same_state(first.state_dict, again.state_dict)
    assert first.history != other.history


def test_missing_and_unlabelled_utterances_are_counted(host: PluginHost, data: DatasetSplits,
                                                       features: dict) -> None:
    dropped = {data.splits["train"][0].utterances[1].id, data.splits["test"][2].utterances[0].id}
    partial = {k: v for k, v in features.items() if k not in dropped}
    unlabelled_id = data.splits["validation"][0].utterances[0].id
    validation = [Conversation(c.id, [replace(u, label=None) if u.id == unlabelled_id else u for u in c.utterances])
                  for c in data.splits["validation"]]
    with_gap = DatasetSplits(data.name, data.labels, {**data.splits, "validation": validation})
    speech = make_features(data, dim=10, seed=9)
    fusion = build("fusion_head", "concat", {"hidden": 16}, plugin_host=host)
    result = stages.train_fusion_stage3(fusion, partial, speech, with_gap, CFG, seed=0, device="cpu")
    assert result.n_missing == 2
    assert sorted(i for ids in result.missing.values() for i in ids) == sorted(dropped)
    assert result.unlabelled == {"train": 0, "validation": 1, "test": 0}
    scored = {p[0] for rows in result.predictions.values() for p in rows}
    assert not (dropped | {unlabelled_id}) & scored
    assert set(result.features) == scored


def test_bad_inputs_are_user_errors(host: PluginHost, data: DatasetSplits, features: dict) -> None:
    context = build("context_model", "none", {}, plugin_host=host)
    no_validation = DatasetSplits(data.name, data.labels, {"train": data.splits["train"], "test": data.splits["test"]})
    with pytest.raises(UserError, match="validation"):
        stages.train_context_stage2(context, features, no_validation, CFG, seed=0, device="cpu")
    odd = DatasetSplits(data.name, ["negative", "positive"], data.splits)
    with pytest.raises(UserError, match="not one of"):
        stages.train_context_stage2(context, features, odd, CFG, seed=0, device="cpu")
    ragged = {**features, next(iter(features)): np.zeros(3, dtype=np.float32)}
    with pytest.raises(UserError, match="different shapes"):
        stages.train_context_stage2(context, ragged, data, CFG, seed=0, device="cpu")
    poisoned = {**features, next(iter(features)): np.full(16, np.nan, dtype=np.float32)}
    with pytest.raises(UserError, match="NaN"):
        stages.train_speech_stage1(poisoned, data, CFG, seed=0, device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            stages.train_context_stage2(context, features, data, CFG, seed=0, device="cuda")


def test_progress_reporting(host: PluginHost, data: DatasetSplits, features: dict) -> None:
    records = []
    context = build("context_model", "none", {"hidden": 8}, plugin_host=host)
    stages.train_context_stage2(context, features, data, CFG, seed=0, device="cpu",
                                progress=lambda stage, record: records.append((stage, record)))
    assert [r["epoch"] for _, r in records] == list(range(1, CFG.epochs + 1))
    assert {stage for stage, _ in records} == {"stage2"}
    with Progress(disable=True) as progress:
        stages.train_context_stage2(context, features, data, CFG, seed=0, device="cpu", progress=progress,
                                    stage="stage2-text")
        task = progress.tasks[0]  # counts batches (training, validation, final evaluation), so it ends complete
        assert task.completed == task.total and task.total > CFG.epochs and task.description.startswith("stage2-text")


def test_stage_result_cache_round_trip(tmp_path, data: DatasetSplits, features: dict) -> None:  # noqa: ANN001
    result = stages.train_speech_stage1(features, data, CFG, seed=0, device="cpu", hidden_dim=8)
    cache = Cache(tmp_path / "cache")
    key = Cache.key("stages", "speech-stage1", {"hidden_dim": 8}, "input-digest")
    assert StageResult.from_cache(cache, key) is None
    result.to_cache(cache, key)
    loaded = StageResult.from_cache(cache, key)
    assert loaded is not None
    assert loaded.summary() == result.summary()
    assert_same_arrays(loaded.features, result.features)
    assert_same_state(loaded.state_dict, result.state_dict)
    assert not list((tmp_path / "cache").rglob(".tmp-*"))
