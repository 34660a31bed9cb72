"""The MERITS-L stage trainers the recipe calls, top to bottom.

Pre-train ``fine_tune_text``      the same fine-tuning, returning the classifier to ``save_pretrained``.
Stage I   ``train_text_stage1``   fine-tune the text encoder per utterance; features = its hidden layer.
          ``train_speech_stage1`` small net over frozen speech embeddings; features = its 256-d layer.
Stage II  ``train_context_stage2`` one modality's Stage I features, per conversation -> contextual features.
Stage III ``train_fusion_stage3`` text and speech Stage II features -> fused logits.
Fig. 4    ``train_joint``         Stage II (both modalities) and III trained end to end on Stage I features.

Shared contract (see ``erc_bench.train.loop.fit``): each trainer makes one
``StageContext`` (device resolved once) and seeds every generator from ``seed``
before it builds its model; AdamW + cross-entropy with ``cfg`` (``StageTraining``); the epoch is
selected by validation weighted F1 only and test is evaluated once, after
training, with the selected weights; ``device`` is ``"auto"`` (CUDA when
present), ``"cpu"`` or ``"cuda"``; ``progress`` is a rich ``Progress`` or a
``callback(stage, epoch_record)``; ``stage`` names the result (``StageResult.stage``), the
progress task and the history: the defaults are the recipe's names (``stage1-text``,
``stage1-speech``, ``stage3-fusion``, ``joint-fusion``); Stage II runs once per modality, so
its caller passes ``stage="stage2-text"`` / ``"stage2-speech"`` (default ``"stage2"``).
Inputs are never modified: features are copied into new tensors and only the
stage's own new module is trained.
Utterances without an input feature are left out and listed in
``result.missing`` (``result.n_missing``); unlabelled ones are counted in
``result.unlabelled``. The returned ``StageResult.features`` holds the stage's
output for every utterance of every split it scored (the fused logits for
Stage III and joint training, which feed no further stage).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from erc_bench.core.capabilities import (
    FrozenEncoderSplit,
    PartiallyTrainable,
    ReportsLayerWeights,
)
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import SPLITS, DatasetSplits
from erc_bench.recipes.merits_l.networks import build_network, stage_card
from erc_bench.train.context import StageContext
from erc_bench.train.stage_result import StageResult

__all__ = ["StageResult", "fine_tune_text", "train_context_stage2", "train_fusion_stage3", "train_joint",
           "train_speech_stage1", "train_text_stage1"]

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    from torch import nn

    from erc_bench.core.interfaces import ContextModel, FusionHead, TextEncoder
    from erc_bench.core.spec import StageTraining
    from erc_bench.train.loop import Shuffle

from erc_bench.train.conversations import Item, conversation_collate, roles


def _select(data: DatasetSplits, available: Callable[[str], bool]
            ) -> tuple[dict[str, list[list[Item]]], dict[str, list[str]], dict[str, int]]:
    """Per split, conversations as lists of scored utterances (in order), plus missing ids and unlabelled counts."""
    index = {label: i for i, label in enumerate(data.labels)}
    conversations: dict[str, list[list[Item]]] = {s: [] for s in SPLITS}
    missing: dict[str, list[str]] = {s: [] for s in SPLITS}
    unlabelled: dict[str, int] = {s: 0 for s in SPLITS}
    for split in SPLITS:
        for conversation in data.splits.get(split, []):
            kept: list[Item] = []
            for utt in sorted(conversation.utterances, key=lambda u: u.position):
                if utt.label is None:
                    unlabelled[split] += 1
                elif utt.label not in index:
                    raise UserError(f"{data.name}: utterance {utt.id} has label '{utt.label}', "
                                    f"not one of {', '.join(data.labels)}")
                elif not available(utt.id):
                    missing[split].append(utt.id)
                else:
                    kept.append((utt.id, index[utt.label]))
            if kept:
                conversations[split].append(kept)
    return conversations, missing, unlabelled


def _flatten(conversations: dict[str, list[list[Item]]]) -> dict[str, list[Item]]:
    return {split: [item for conv in convs for item in conv] for split, convs in conversations.items()}


def _feature_table(what: str, features: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """float32 copies of the features (the caller's arrays are never written), all of one shape."""
    import numpy as np

    table = {uid: np.array(value, dtype=np.float32, copy=True) for uid, value in features.items()}
    shapes = {value.shape for value in table.values()}
    if not shapes:
        raise UserError(f"{what}: no features were given")
    if len(shapes) > 1:
        raise UserError(f"{what}: features have different shapes {sorted(shapes)[:3]}; one encoder must make them all")
    broken = [uid for uid, value in table.items() if not np.isfinite(value).all()]
    if broken:
        raise UserError(f"{what}: {len(broken)} features contain NaN or infinity (first: {broken[0]}); "
                        "clear that cache entry or fix the encoder")
    return table, shapes.pop()


def _begin(data: DatasetSplits, cfg: StageTraining, seed: int, device: Any, progress: Any) -> StageContext:
    """The stage's context (device resolved), with every generator seeded before the model is built."""
    ctx = StageContext.create(data, cfg, seed, device, progress)
    ctx.begin()
    return ctx


def _finish(result: StageResult, missing: dict[str, list[str]], unlabelled: dict[str, int]) -> StageResult:
    result.missing, result.unlabelled = missing, unlabelled
    return result


def fine_tune_text(encoder: TextEncoder, data: DatasetSplits, texts: Mapping[str, str], cfg: StageTraining,
                   seed: int, device: Any = "auto", progress: Any = None, stage: str = "stage1-text",
                   keep_features: bool = True, select_on: str = "weighted_f1", shuffle: Shuffle = "numpy",
                   evaluate_splits: Sequence[str] = SPLITS, cache: Any = None,
                   frozen_as_features: bool = True) -> tuple[StageResult, Any]:
    """Fine-tune ``encoder.build_classifier(len(data.labels))``; returns the result and the selected classifier.

    The LLM-guided pre-training uses this directly (silver-labelled corpus, no
    test split, ``keep_features=False``, its own selection rule and shuffler,
    see ``loop``) and then ``classifier.save_pretrained(dir)``.
    With ``cfg.train_layers == 0`` and a classifier that splits at its encoder, the encoder runs once per
    text (``frozen_text``, cached in ``cache`` when given) and only the head trains;
    ``frozen_as_features=False`` keeps the encoder in every batch (the old path, for
    ``benchmarks/perf/frozen_text.py``).
    """
    import torch

    from erc_bench.train.loop import Batch, fit

    ctx = _begin(data, cfg, seed, device, progress)
    dev = ctx.device
    conversations, missing, unlabelled = _select(data, lambda uid: texts.get(uid) is not None)
    card = stage_card("text-classifier", list(data.labels), {"text_encoder": ("text_encoder", encoder)})
    model = build_network(card, {"text_encoder": encoder}).to(dev)
    if cfg.train_layers is not None:
        if not isinstance(model, PartiallyTrainable):
            raise UserError(f"{stage}: training.train_layers needs a text encoder whose classifier can freeze "
                            f"layers ({type(model).__name__} cannot); leave it unset")
        model.train_top_layers(cfg.train_layers)
    items = _flatten(conversations)
    if cfg.train_layers == 0 and frozen_as_features and isinstance(model, FrozenEncoderSplit):
        from erc_bench.features.frozen_text import frozen_encodings

        table = frozen_encodings(model, encoder, texts, [uid for split in items.values() for uid, _ in split],
                                 cache, progress)
        result, _ = fit(stage, model.trainable_head(), items, _table_collate(table, dev), ctx,
                        keep_features=keep_features, select_on=select_on, shuffle=shuffle,
                        evaluate_splits=evaluate_splits)
        weights = cast("nn.Module", model).state_dict()
        result.state_dict = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
        result.card = card
        return _finish(result, missing, unlabelled), model  # the head holds the selected weights

    def collate(items: list[Item]) -> Batch:
        gold = torch.tensor([y for _, y in items], dtype=torch.long, device=dev)
        return Batch(ids=[uid for uid, _ in items], gold=gold, inputs=([texts[uid] for uid, _ in items],))

    result, model = fit(stage, model, items, collate, ctx, keep_features=keep_features,
                        select_on=select_on, shuffle=shuffle, evaluate_splits=evaluate_splits)
    result.card = card
    return _finish(result, missing, unlabelled), model


def train_text_stage1(encoder: TextEncoder, data: DatasetSplits, texts: Mapping[str, str], cfg: StageTraining,
                      seed: int, device: str = "auto", progress: Any = None, stage: str = "stage1-text",
                      cache: Any = None, frozen_as_features: bool = True) -> StageResult:
    """Fine-tune the text encoder to classify utterances from ``texts[utt_id]``; features = its hidden layer
    (a frozen encoder, ``train_layers = 0``, is encoded once and cached in ``cache``: see ``fine_tune_text``)."""
    return fine_tune_text(encoder, data, texts, cfg, seed, device, progress, stage, cache=cache,
                          frozen_as_features=frozen_as_features)[0]


def train_speech_stage1(embeddings: Mapping[str, Any], data: DatasetSplits, cfg: StageTraining, seed: int,
                        device: str = "auto", progress: Any = None, hidden_dim: int = 256, dropout: float = 0.2,
                        stage: str = "stage1-speech", head: Any = None) -> StageResult:
    """Small net over frozen embeddings ``(D,)`` or ``(layers, D)`` (learned softmax layer weights).

    Inputs are standardised with the training split's per-dimension mean and std
    (never validation or test statistics). ``head`` (a ``speech_head`` component) replaces
    the engine's ``SpeechHead``; it trains with ``cfg`` as given (a head whose authors fixed an optimiser
    setting says so, and the spec writes it in ``[training.stage1.speech]``).
    """
    import numpy as np
    import torch

    from erc_bench.train.loop import fit
    ctx = _begin(data, cfg, seed, device, progress)
    dev = ctx.device
    table, shape = _feature_table(f"{stage} embeddings", embeddings)
    if len(shape) not in (1, 2):
        raise UserError(f"{stage}: speech embeddings must be (D,) or (layers, D); got shape {shape}")
    conversations, missing, unlabelled = _select(data, lambda uid: uid in table)
    layers = shape[0] if len(shape) == 2 else None
    train = np.stack([table[uid] for conv in conversations["train"] for uid, _ in conv] or [np.zeros(shape)])
    std = train.std(axis=0)
    std[std < 1e-6] = 1.0  # a constant dimension carries nothing; leave it unscaled
    mean = torch.from_numpy(train.mean(axis=0))
    card = stage_card("speech-stage1", list(data.labels), {"speech_head": ("speech_head", head)}, layers=layers,
                      width=int(shape[-1]), hidden=hidden_dim, dropout=dropout)
    model = build_network(card, {"speech_head": head}, mean, torch.from_numpy(std)).to(dev)

    result, model = fit(stage, model, _flatten(conversations), _table_collate(table, dev), ctx)
    result.card = card
    weights = model.layer_weights() if isinstance(model, ReportsLayerWeights) else None
    if weights is not None:
        result.extras["layer_weights"] = weights
    return _finish(result, missing, unlabelled)


def train_context_stage2(context_model: ContextModel, features: Mapping[str, Any], data: DatasetSplits,
                         cfg: StageTraining, seed: int, device: str = "auto", progress: Any = None,
                         stage: str = "stage2", modality: str = "text") -> StageResult:
    """Train ``context_model.build(D, C)`` over conversations of frozen Stage I features (batch = conversations,
    a ``ConversationBatch`` holding ``modality``'s features, the speakers and positions)."""
    from erc_bench.train.loop import fit

    ctx = _begin(data, cfg, seed, device, progress)
    dev = ctx.device
    table, shape = _feature_table(f"{stage} input features", features)
    if len(shape) != 1:
        raise UserError(f"{stage}: utterance features must be vectors (D,); got shape {shape}")
    conversations, missing, unlabelled = _select(data, lambda uid: uid in table)
    card = stage_card("context", list(data.labels), {"context_model": ("context_model", context_model)},
                      width=int(shape[0]))
    model = cast("nn.Module", build_network(card, {"context_model": context_model})).to(dev)
    result, _ = fit(stage, model, conversations, _collate(data, {modality: table}, dev), ctx)
    result.card = card
    return _finish(result, missing, unlabelled)


def _table_collate(table: Mapping[str, Any], device: Any) -> Callable[[list[Item]], Any]:
    """Batches of per-utterance vectors from ``table`` (Stage I over precomputed inputs)."""
    import numpy as np
    import torch

    from erc_bench.train.loop import Batch

    def collate(items: list[Item]) -> Batch:
        x = torch.from_numpy(np.stack([table[uid] for uid, _ in items])).to(device)
        gold = torch.tensor([y for _, y in items], dtype=torch.long, device=device)
        return Batch(ids=[uid for uid, _ in items], gold=gold, inputs=(x,))

    return collate


def _collate(data: DatasetSplits, tables: dict[str, dict[str, np.ndarray]], device: Any) -> Any:
    return conversation_collate(tables, roles(c for split in data.splits.values() for c in split), device)


def _two_tables(stage: str, text_features: Mapping[str, Any], speech_features: Mapping[str, Any]
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    text, text_shape = _feature_table(f"{stage} text features", text_features)
    speech, speech_shape = _feature_table(f"{stage} speech features", speech_features)
    if len(text_shape) != 1 or len(speech_shape) != 1:
        raise UserError(f"{stage}: features must be vectors (D,); got text {text_shape}, speech {speech_shape}")
    return text, speech


def train_fusion_stage3(fusion_head: FusionHead, text_features: Mapping[str, Any],
                        speech_features: Mapping[str, Any], data: DatasetSplits, cfg: StageTraining, seed: int,
                        device: str = "auto", progress: Any = None, stage: str = "stage3-fusion") -> StageResult:
    """Train ``fusion_head.build({"text": Dt, "speech": Ds}, C)`` on frozen Stage II features of both modalities.

    An utterance needs both features; one missing either is listed in ``missing``.
    """
    from erc_bench.train.loop import fit

    ctx = _begin(data, cfg, seed, device, progress)
    dev = ctx.device
    text, speech = _two_tables(stage, text_features, speech_features)
    conversations, missing, unlabelled = _select(data, lambda uid: uid in text and uid in speech)
    card = stage_card("fusion", list(data.labels), {"fusion_head": ("fusion_head", fusion_head)},
                      text=_width(text), speech=_width(speech))
    model = cast("nn.Module", build_network(card, {"fusion_head": fusion_head})).to(dev)
    result, _ = fit(stage, model, conversations, _collate(data, {"text": text, "speech": speech}, dev), ctx)
    result.card = card
    return _finish(result, missing, unlabelled)


def train_joint(context_model: ContextModel, fusion_head: FusionHead, text_features: Mapping[str, Any],
                speech_features: Mapping[str, Any], data: DatasetSplits, cfg: StageTraining, seed: int,
                device: str = "auto", progress: Any = None, stage: str = "joint-fusion") -> StageResult:
    """Paper Fig. 4 baseline: two Stage II context models + Stage III fusion, one loss, end to end."""
    from erc_bench.train.loop import fit

    ctx = _begin(data, cfg, seed, device, progress)
    dev = ctx.device
    text, speech = _two_tables(stage, text_features, speech_features)
    conversations, missing, unlabelled = _select(data, lambda uid: uid in text and uid in speech)
    card = stage_card("joint", list(data.labels), {"context_model": ("context_model", context_model),
                                                   "fusion_head": ("fusion_head", fusion_head)},
                      text=_width(text), speech=_width(speech))
    model = cast("nn.Module", build_network(card, {"context_model": context_model, "fusion_head": fusion_head}))
    model = model.to(dev)
    result, _ = fit(stage, model, conversations, _collate(data, {"text": text, "speech": speech}, dev), ctx)
    result.card = card
    return _finish(result, missing, unlabelled)


def _width(table: dict[str, np.ndarray]) -> int:
    """Feature width of a table of per-utterance vectors (a size the build card records)."""
    if not table:
        raise UserError("no utterance has the inputs this system needs (text and/or audio)")
    return int(next(iter(table.values())).shape[-1])
