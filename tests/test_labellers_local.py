"""Offline labellers: VADER lexicon thresholds and a tiny random local causal LM (plumbing only)."""

from __future__ import annotations

import os

import pytest

from erc_bench.core.plugin_host import build

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_lexicon_applies_documented_thresholds() -> None:
    labeller = build("labeller", "lexicon", {})
    texts = ["I love this, it is wonderful", "This is terrible and sad", "The bus leaves at nine"]
    outcomes = labeller.label(texts)
    assert [o.label for o in outcomes] == ["positive", "negative", "neutral"]
    assert all(o.status == "ok" and o.raw.startswith("compound=") for o in outcomes)
    strict = build("labeller", "lexicon", {"positive_threshold": 0.99, "negative_threshold": -0.99})
    assert strict.label(["I love this, it is wonderful"])[0].label == "neutral"
    assert labeller.fingerprint() != strict.fingerprint()
    with pytest.raises(ValueError):
        build("labeller", "lexicon", {"positive_threshold": -0.5, "negative_threshold": 0.5})


@pytest.mark.parametrize("empty", ["", "   ", "\n"])
def test_lexicon_treats_an_empty_transcript_as_failed_like_the_llm_labellers(empty: str) -> None:
    outcome = build("labeller", "lexicon", {}).label(["I love it", empty])[1]
    assert (outcome.label, outcome.status) == (None, "failed") and "empty transcript" in outcome.detail


@pytest.fixture(scope="module")
def tiny_causal_lm(tmp_path_factory):
    """A random 2-layer Llama and a word-level tokenizer whose vocabulary has no label words."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<pad>", "<s>", "</s>", "user", "assistant", "answer", ":", "the", "a", "is", "you", "read",
             "transcript", "speaker", "word", "one", "exactly", "with", "sentiment", "blue", "green", "sky", "grass"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>")
    fast.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}assistant :"
    config = LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=1, bos_token_id=2, eos_token_id=3)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-lm")
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_hf_local_generates_greedily_reports_unparsable_and_caches(tiny_causal_lm, tmp_path) -> None:
    params = {"model": str(tiny_causal_lm), "max_new_tokens": 3, "batch_size": 2, "device": "cpu",
              "cache_path": str(tmp_path / "l.db")}
    labeller = build("labeller", "hf-local", params)
    texts = ["the sky is blue", "grass is green", "you read one word", "the sky is blue"]
    outcomes = labeller.label(texts)
    assert len(outcomes) == 4 and labeller.usage.requests == 3
    assert all(o.status == "unparsable" and o.label is None for o in outcomes)  # junk answers are never guessed
    assert labeller.usage.completion_tokens == 9 and labeller.usage.prompt_tokens > 0
    assert outcomes[0].raw == outcomes[3].raw
    again = build("labeller", "hf-local", params)
    assert [o.raw for o in again.label(texts)] == [o.raw for o in outcomes]
    assert again._loaded is None and again.usage.requests == 0  # served from the cache, model never loaded
    assert again.estimate(texts).requests == 0
