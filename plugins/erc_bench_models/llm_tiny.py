"""A tiny randomly initialised causal LM folder (Llama or Qwen2 architecture) with a word-level tokenizer.

For tests, the ``benchmarks/demo/hf_llm.toml`` smoke run and ``benchmarks/perf/hf_llm_memory.py``: no model hub
is needed. The tokenizer is a byte-level BPE (as Llama-3's and Qwen2's) trained on the words of ``vocabulary``
(default: a few emotion words and the demo corpus's), so any text encodes; it has ``<s>`` and ``<|endoftext|>``
(eos) but no pad token, as most LLM tokenizers (transformers' Qwen2 tokenizer adds eos as its pad itself).

    python -m erc_bench_models.llm_tiny /tmp/tiny-llm [--architecture qwen2] [--hidden 32] [--layers 2]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path

_SPECIALS = ["<|endoftext|>", "<s>"]
_WORDS = ("i am so happy glad great wonderful sad sorry miss angry furious hate neutral okay fine the a an "
          "today this that it is was feel very not really you we they what why how . , ! ?")


def demo_words() -> list[str]:
    """Lower-cased words of the bundled demo corpus's sentences (empty when the datasets plugin is absent)."""
    try:
        from erc_bench import build

        splits = build("dataset", "demo").load()
    except Exception:  # noqa: BLE001 - the demo corpus only widens the vocabulary
        return []
    texts = [u.text or "" for convs in splits.splits.values() for c in convs for u in c.utterances]
    return sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})


def make_tiny_llm(directory: str | Path, architecture: str = "llama", hidden: int = 32, layers: int = 2,
                  heads: int = 4, vocabulary: Iterable[str] | None = None, seed: int = 0) -> Path:
    """Write a random ``architecture`` ("llama" or "qwen2") model and its tokenizer to ``directory``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, PreTrainedTokenizerFast, Qwen2Config

    words = [*(vocabulary if vocabulary is not None else _WORDS.split()), *demo_words()]
    # byte-level BPE, as Llama-3 and Qwen2 ship (transformers rebuilds a qwen2 tokenizer from vocab and merges)
    core = Tokenizer(models.BPE(unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=256 + len(_SPECIALS) + 2 * len(words), special_tokens=_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator([" ".join(words), *(f" {w}" for w in words)], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="<|endoftext|>")
    sizes = {"vocab_size": core.get_vocab_size(), "hidden_size": hidden, "intermediate_size": 2 * hidden,
             "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": max(1, heads // 2),
             "max_position_embeddings": 512, "bos_token_id": 1, "eos_token_id": 0, "tie_word_embeddings": True}
    configs = {"llama": LlamaConfig, "qwen2": Qwen2Config}
    if architecture not in configs:
        raise ValueError(f"architecture must be one of {sorted(configs)}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(configs[architecture](**sizes))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    reloaded = len(AutoTokenizer.from_pretrained(out))
    if reloaded > sizes["vocab_size"]:  # pragma: no cover - a transformers release that adds tokens on load
        raise RuntimeError(f"the tokenizer reloads with {reloaded} tokens, the model has {sizes['vocab_size']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--architecture", default="llama", choices=["llama", "qwen2"])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    args = parser.parse_args()
    print(make_tiny_llm(args.directory, args.architecture, args.hidden, args.layers, args.heads))


if __name__ == "__main__":
    main()
