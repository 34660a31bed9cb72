"""CARE pre-training inputs: corpus -> ASR transcripts (shared cache) -> targets -> cropped batches; the network.

Transcripts come from ``transcribe_utterances`` with the same cache as the LLM-guided
text pre-training, so a corpus transcribed once serves both. Batches are a pure function
of (seed, step): the batch order is a seeded permutation per epoch and the crop offsets are
drawn from a generator seeded by the step, so a run resumed after a kill sees exactly the
batches the uninterrupted run would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from erc_bench import SAMPLE_RATE, UserError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from erc_bench import Cache
    from erc_bench_speech.care_pretrain_spec import CarePretrainSection

CONFIG_META = ("architectures", "transformers_version", "model_type", "_name_or_path", "torch_dtype", "dtype")


@dataclass
class Example:
    utt_id: str
    wav: np.ndarray
    text: np.ndarray
    acoustic: np.ndarray


@dataclass
class Examples:
    train: list[Example]
    val: list[Example]
    target_rate: float
    excluded: dict[str, int] = field(default_factory=dict)


def load_examples(section: CarePretrainSection, cache: Cache, device: Any, progress: Any = None) -> Examples:
    """Every corpus utterance with a transcript and at least ``min_seconds`` of audio, split train/validation."""
    import numpy as np

    from erc_bench import build, load_audio, transcribe_utterances
    from erc_bench_speech.care_targets import AcousticTargets, text_embeddings

    data = build("dataset", section.corpus.plugin, section.corpus.params).load()
    utterances = [u for name in sorted(data.splits) for u in data.utterances(name) if u.audio is not None]
    utterances = utterances[: section.max_items] if section.max_items else utterances
    if not utterances:
        raise UserError(f"care-pretrain: corpus '{section.corpus.plugin}' has no utterances with audio")
    asr = build("asr", section.asr.plugin, section.asr.params)
    transcripts, problems = transcribe_utterances(asr, utterances, cache, progress)
    acoustic = AcousticTargets(section.acoustic_target)
    kept, texts, excluded = [], [], {"asr": len(problems), "no_text": 0, "too_short": 0}
    for utt in utterances:
        found = transcripts.get(utt.id)
        if found is None:
            continue
        if not found.text.strip():
            excluded["no_text"] += 1
            continue
        wav = load_audio(utt.audio, cache)
        if wav.size < section.min_seconds * SAMPLE_RATE:
            excluded["too_short"] += 1
            continue
        kept.append((utt.id, wav))
        texts.append(found.text.strip())
    if len(kept) < 2:
        raise UserError(f"care-pretrain: only {len(kept)} usable utterances (excluded {excluded}); lower "
                        "min_seconds or give a larger corpus")
    vectors = text_embeddings(section.text_target, texts, device)
    examples = [Example(uid, wav, vectors[i], acoustic(uid, wav)) for i, (uid, wav) in enumerate(kept)]
    order = np.random.default_rng(section.seed).permutation(len(examples))
    n_val = max(1, round(section.val_fraction * len(examples)))
    return Examples([examples[i] for i in order[n_val:]], [examples[i] for i in order[:n_val]],
                    acoustic.frame_rate, excluded)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return max(1, n_train // batch_size)  # the authors drop the last partial batch


def batch_indexes(n_train: int, batch_size: int, seed: int, step: int) -> list[int]:
    """Training examples of 0-based ``step``: a seeded permutation per epoch, full batches only."""
    import numpy as np

    per_epoch = steps_per_epoch(n_train, batch_size)
    epoch, within = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_train)
    return [int(i) for i in order[within * batch_size:(within + 1) * batch_size]]


def collate(examples: list[Example], crop_seconds: float, target_rate: float, rng: Any = None
            ) -> tuple[Any, Any, Any, Any]:
    """Fixed-length crops: longer clips at a random offset (``rng``; clip start without), shorter ones zero-padded.

    Returns waveforms ``[B, samples]``, text targets ``[B, Dt]``, acoustic targets over the
    same time span at their own rate ``[B, frames, Da]`` and the mask of real (unpadded) frames.
    """
    import numpy as np
    import torch

    length = int(crop_seconds * SAMPLE_RATE)
    frames = max(1, round(crop_seconds * target_rate))
    wavs = np.zeros((len(examples), length), dtype=np.float32)
    targets = np.zeros((len(examples), frames, examples[0].acoustic.shape[1]), dtype=np.float32)
    mask = np.zeros((len(examples), frames), dtype=np.float32)
    for i, ex in enumerate(examples):
        offset = int(rng.integers(0, ex.wav.size - length + 1)) if rng is not None and ex.wav.size > length else 0
        clip = ex.wav[offset:offset + length]
        wavs[i, :clip.size] = clip
        first = round(offset / SAMPLE_RATE * target_rate)
        part = ex.acoustic[first:first + min(frames, round(clip.size / SAMPLE_RATE * target_rate))]
        targets[i, :len(part)] = part
        mask[i, :len(part)] = 1.0
    text = np.stack([ex.text for ex in examples]).astype(np.float32)
    return torch.from_numpy(wavs), torch.from_numpy(text), torch.from_numpy(targets), torch.from_numpy(mask)


def _config_overrides(config: Any) -> dict[str, Any]:
    return {k: v for k, v in config.to_diff_dict().items() if k not in CONFIG_META}


def build_network(section: CarePretrainSection, acoustic_dim: int) -> tuple[Any, dict[str, Any]]:
    """A ``CareNetwork`` started as the authors start it: WavLM-base layers for the trunk and the acoustic
    branch, RoBERTa-base layers 6-11 for the semantic branch (random convolution blocks); or random weights."""
    from transformers import RobertaConfig, WavLMConfig

    from erc_bench_speech.care_checkpoint import load_into
    from erc_bench_speech.care_model import ROBERTA_BASE, CareNetwork

    pretrained_trunk, pretrained_semantic = section.trunk != "random_config", section.semantic_init != "random_config"
    try:
        wavlm_cfg = _config_overrides(WavLMConfig.from_pretrained(section.trunk)) if pretrained_trunk else {}
        roberta_cfg = _config_overrides(RobertaConfig.from_pretrained(section.semantic_init)) \
            if pretrained_semantic else dict(ROBERTA_BASE)
    except OSError as exc:
        raise UserError(f"care-pretrain: cannot load {exc}".splitlines()[0]) from None
    wavlm_cfg.update(section.trunk_config)
    roberta_cfg.update(section.semantic_config)
    try:
        net = CareNetwork(wavlm_cfg, roberta_cfg, section.shared_layers, acoustic_dim)
    except ValueError as exc:
        raise UserError(f"care-pretrain: {exc}") from None
    state = net.state_dict()
    if pretrained_trunk:
        from transformers import WavLMModel

        wavlm = WavLMModel.from_pretrained(section.trunk).state_dict()
        names = {"feature_extractor.conv_layers.": "audio_feature_extractor.", "feature_projection.":
                 "feature_projection_audio.", "encoder.pos_conv_embed.": "pos_conv.", "encoder.layer_norm.":
                 "wavlm_layer_norm."}
        for key, value in wavlm.items():
            for old, new in names.items():
                if key.startswith(old):
                    state[new + key[len(old):]] = value
            if key.startswith("encoder.layers."):
                index, rest = key[len("encoder.layers."):].split(".", 1)
                i = int(index)
                target = f"audio_model.{i}" if i < section.shared_layers else f"dual_model.{i - section.shared_layers}"
                state[f"{target}.{rest}"] = value
    if pretrained_semantic:
        from transformers import RobertaModel

        for key, value in RobertaModel.from_pretrained(section.semantic_init).state_dict().items():
            if key.startswith("encoder.layer."):
                index, rest = key[len("encoder.layer."):].split(".", 1)
                if int(index) >= section.shared_layers:
                    state[f"common_model.{int(index) - section.shared_layers}.{rest}"] = value
    load_into(net, state, ())
    config = {"format": 1, "wavlm_config": wavlm_cfg, "roberta_config": roberta_cfg,
              "shared_layers": section.shared_layers, "acoustic_dim": acoustic_dim}
    return net, config
