"""Pre-training and the agreement oracle, end to end on a tiny corpus with a tiny random encoder."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
from pydantic import BaseModel, ConfigDict

from erc_bench.core.cache import Cache
from erc_bench.core.errors import DataError, UserError
from erc_bench.core.hookspecs import hookimpl
from erc_bench.core.interfaces import AudioSource, Conversation, DatasetSplits, Transcript, Utterance
from erc_bench.core.spec import ComponentRef, PretrainSection
from erc_bench.recipes.merits_l.agreement import REFERENCE_AGREEMENT, compare_labels, run_label_agreement, valence_label
from erc_bench.recipes.merits_l.pretrain import estimate_labelling, run_pretrain

SENTENCES = [  # (transcript, valence); VADER labels them positive / negative / neutral
    ("I love this wonderful day", 6.5), ("This is terrible and sad", 1.5), ("The train leaves at nine", 4.0),
    ("What a great and happy surprise", 6.0), ("I hate how awful this is", 2.0), ("The file is on the desk", 4.5),
    ("Thank you so much, that is amazing", 5.5), ("That was a horrible mistake", 2.5),
    ("We moved the chairs to the hall", 3.0), ("Best gift ever, I am so glad", 7.0),
    ("I am angry and upset", 1.0), ("The meeting is on Tuesday", 5.0),
]
TINY_BERT = {"model": "sentence-transformers/all-MiniLM-L6-v2", "hidden_dim": 8, "max_length": 16,
             "random_config": {"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
                               "num_attention_heads": 2, "intermediate_size": 32}}


class RootParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    root: str
    with_valence: bool = True


class ToyCorpus:
    """Clip i lasts (i + 1) * 0.1 s, which is how ToyASR 'recognises' it."""

    name = "toy-pretrain-corpus"
    Params = RootParams

    def __init__(self, params: RootParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        utts = []
        for i, (_, valence) in enumerate(SENTENCES):
            meta = {"valence": valence} if self.params.with_valence else {}
            utts.append(Utterance(f"u{i}", "pool", i, "", None, audio=AudioSource(f"{self.params.root}/u{i}.wav"),
                                  meta=meta))
        utts.append(Utterance("u-missing", "pool", 99, "", None, audio=AudioSource(f"{self.params.root}/gone.wav")))
        return DatasetSplits(self.name, [], {"train": [Conversation("pool", utts)]})


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToyASR:
    """Recognises a clip by its length (see ToyCorpus); real audio files are still decoded."""

    name = "toy-duration-asr"
    Params = _NoParams

    def __init__(self, params: _NoParams) -> None:
        self.params = params

    def transcribe(self, waveforms):
        for wave in waveforms:
            yield Transcript(SENTENCES[round(len(wave) / 1600) - 1][0])

    def fingerprint(self) -> str:
        return "toy-duration-asr:1"


@pytest.fixture()
def corpus(tmp_path, register_plugin):
    for i in range(len(SENTENCES)):
        sf.write(tmp_path / f"u{i}.wav", np.full((i + 1) * 1600, 0.01, dtype=np.float32), 16000)
    register_plugin("toy-pretrain",
                    erc_bench_register_datasets=hookimpl(lambda register: register(ToyCorpus)),
                    erc_bench_register_asr=hookimpl(lambda register: register(ToyASR)))
    return tmp_path


def section(root, **overrides) -> PretrainSection:
    values = {"corpus": {"plugin": "toy-pretrain-corpus", "params": {"root": str(root)}},
              "asr": {"plugin": "toy-duration-asr"}, "labeller": {"plugin": "lexicon"},
              "epochs": 2, "batch_size": 4, "lr": 1e-3, **overrides}
    return PretrainSection(**values)


class RecordingTracker:
    def __init__(self) -> None:
        self.metrics: list[dict] = []
        self.dicts: dict[str, dict] = {}

    def log_metrics(self, metrics, step=None) -> None:
        self.metrics.append(dict(metrics))

    def log_params(self, params) -> None:
        pass

    def log_dict(self, value, artifact_file) -> None:
        self.dicts[artifact_file] = value


def test_pretrain_fine_tunes_caches_and_the_checkpoint_loads_as_text_encoder(corpus, tmp_path) -> None:
    cache, tracker = Cache(tmp_path / "cache"), RecordingTracker()
    encoder = ComponentRef(plugin="hf-text", params=TINY_BERT)
    result = run_pretrain(section(corpus), encoder, cache, device="cpu", tracker=tracker)
    assert result.label_counts == {"positive": 4, "negative": 4, "neutral": 4}
    assert result.n_items == 13 and result.n_failed == 1 and result.excluded["asr"] == 1  # the missing clip
    assert (result.n_train, result.n_val) == (10, 2) and 0.0 <= result.val_accuracy <= 1.0
    assert len(result.history) == 2 and not result.cached
    assert any("epoch/validation/accuracy" in m for m in tracker.metrics)
    assert tracker.dicts["pretrain_summary.json"]["label_counts"] == result.label_counts

    started = time.monotonic()
    again = run_pretrain(section(corpus), encoder, cache, device="cpu", tracker=None)
    assert again.cached and again.checkpoint_dir == result.checkpoint_dir and again.history == result.history
    assert time.monotonic() - started < 10

    from erc_bench.core.plugin_host import build

    reloaded = build("text_encoder", "hf-text", {"model": str(result.checkpoint_dir), "hidden_dim": 8,
                                                  "max_length": 16})
    module = reloaded.build_classifier(3, labels=["positive", "negative", "neutral"])
    logits, features = module(["hello there"])
    assert tuple(logits.shape) == (1, 3) and tuple(features.shape) == (1, 8)

    other_seed = run_pretrain(section(corpus, seed=1, epochs=1), encoder, cache, device="cpu")
    assert not other_seed.cached and other_seed.checkpoint_dir != result.checkpoint_dir


def test_pretrain_with_llm_labeller_dry_run_and_failures_counted(corpus, tmp_path, monkeypatch) -> None:
    from llm_servers import LLMServer

    monkeypatch.setenv("LOOPBACK_KEY", "sk-pretrain-test-secret-77")
    with LLMServer() as server:
        server.answers = {s: ("Positive." if v > 5 else "negative" if v < 3 else "neutral") for s, v in SENTENCES}
        server.answers[SENTENCES[2][0]] = "no idea"
        server.fault_for[SENTENCES[5][0]] = ("500",)
        labeller = {"plugin": "openai", "params": {"base_url": server.url + "/v1", "api_key_env": "LOOPBACK_KEY",
                                                    "cache_path": str(tmp_path / "labels.db"), "max_retries": 1,
                                                    "retry_base_delay": 0.01}}
        sec = section(corpus, labeller=labeller, epochs=1)
        silver, estimate = estimate_labelling(sec, Cache(tmp_path / "cache"))
        assert estimate.requests == 12 and estimate.cost_usd is not None and server.chat_requests() == 0
        result = run_pretrain(sec, ComponentRef(plugin="hf-text", params=TINY_BERT), Cache(tmp_path / "cache"),
                              device="cpu")
        assert result.excluded == {"asr": 1, "no_speech": 0, "unparsable": 1, "failed": 1} and result.n_failed == 3
        assert sum(result.label_counts.values()) == 10
        agreement = run_label_agreement(sec, Cache(tmp_path / "cache"))
        assert agreement.n_compared == 10 and agreement.overlap_pct == 100.0 and agreement.kappa == 1.0
        assert agreement.excluded["no_label"] == 2


def test_agreement_maths_and_valence_mapping(corpus, tmp_path) -> None:
    assert [valence_label(v) for v in (7.0, 5.01, 5.0, 3.0, 2.99, 1.0)] == [
        "positive", "positive", "neutral", "neutral", "negative", "negative"]
    result = compare_labels(["positive", "negative", "neutral", "neutral"],
                            ["positive", "neutral", "neutral", "negative"])
    assert result.overlap_pct == 50.0 and result.confusion[1] == [0, 0, 1] and result.confusion[2] == [0, 1, 1]
    assert result.kappa == pytest.approx((0.5 - 0.375) / (1 - 0.375))
    assert set(REFERENCE_AGREEMENT) == {"GPT-3.5 Turbo", "Llama-3-8b-chat-hf", "Mixtral-8x7B-Instruct-v0.1"}
    lexicon = run_label_agreement(section(corpus), Cache(tmp_path / "cache"))
    assert lexicon.n_compared == 12 and 0 <= lexicon.overlap_pct <= 100
    with pytest.raises(DataError, match="valence"):
        run_label_agreement(section(corpus, corpus={"plugin": "toy-pretrain-corpus",
                                                    "params": {"root": str(corpus), "with_valence": False}}),
                            Cache(tmp_path / "cache"))


def test_too_few_labels_is_a_user_error(corpus, tmp_path) -> None:
    with pytest.raises(UserError, match="at least"):
        run_pretrain(section(corpus, max_items=2), ComponentRef(plugin="hf-text", params=TINY_BERT),
                     Cache(tmp_path / "cache"), device="cpu")


class HallucinatingASR(ToyASR):
    """Like ToyASR, but clip 0 comes back as Whisper answers silence, and clip 1 as an empty transcript."""

    name = "toy-hallucinating-asr"

    def transcribe(self, waveforms):
        for wave, transcript in zip(waveforms, super().transcribe(waveforms), strict=True):
            index = round(len(wave) / 1600) - 1
            if index == 0:
                yield Transcript("I'm not sure.", avg_logprob=-1.97, no_speech_prob=0.63)
            elif index == 1:
                yield Transcript("", avg_logprob=None, no_speech_prob=1.0)
            else:
                yield Transcript(transcript.text, avg_logprob=-0.3, no_speech_prob=0.7 if index == 2 else 0.01)


def test_no_speech_transcripts_are_excluded_from_pretraining_and_counted(corpus, tmp_path, register_plugin) -> None:
    register_plugin("toy-hallucinating", erc_bench_register_asr=hookimpl(lambda register: register(HallucinatingASR)))
    result = run_pretrain(section(corpus, asr={"plugin": "toy-hallucinating-asr"}, epochs=1),
                          ComponentRef(plugin="hf-text", params=TINY_BERT), Cache(tmp_path / "cache"), device="cpu")
    # clip 2: high no-speech probability but confident tokens - Whisper's rule keeps it, and so do we
    assert result.excluded == {"asr": 1, "no_speech": 2, "unparsable": 0, "failed": 0}
    assert result.n_failed == 3 and sum(result.label_counts.values()) == len(SENTENCES) - 2


def test_the_label_store_follows_the_runs_cache_dir(corpus, tmp_path, monkeypatch) -> None:
    from llm_servers import LLMServer

    from erc_bench.recipes.merits_l.pretrain import collect_silver_labels

    monkeypatch.setenv("LOOPBACK_KEY", "sk-cache-dir-test-0000000000")
    with LLMServer() as server:
        labeller = {"plugin": "openai", "params": {"base_url": server.url + "/v1", "api_key_env": "LOOPBACK_KEY"}}
        cache = Cache(tmp_path / "run-cache")
        silver = collect_silver_labels(section(corpus, labeller=labeller), cache)
        assert server.chat_requests() == len(silver.texts) == 12
    assert (cache.root / "labels.sqlite").is_file() and cache.usage()["labels"][0] == 1
