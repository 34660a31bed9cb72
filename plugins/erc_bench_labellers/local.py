"""Labellers that need no network: a local Hugging Face causal LM, and VADER.

``hf-local`` asks any chat model (hub id or local directory) the same prompt as
the hosted labellers, with greedy decoding, and caches answers in the same
SQLite store. ``lexicon`` is the offline VADER rule-based scorer: compound
score >= ``positive_threshold`` (0.05) -> positive, <= ``negative_threshold``
(-0.05) -> negative, otherwise neutral (the thresholds VADER's authors
recommend); it powers the quickstart and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from erc_bench import LabelOutcome, require
from erc_bench_labellers.base import CachedLabeller, Computed, empty_transcript_outcome
from erc_bench_labellers.prompting import DEFAULT_PROMPT, Prompt, chat_messages, check_template, prompt_text


class HFLocalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Hugging Face hub id or local directory of a causal LM")
    revision: str | None = Field(None, description="hub branch, tag or commit to pin")
    prompt: str = DEFAULT_PROMPT
    max_new_tokens: int = Field(8, ge=1)
    batch_size: int = Field(8, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cache_path: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_has_placeholder(cls, value: str) -> str:
        return check_template(value)


class HFLocalLabeller(CachedLabeller):
    """A transformers causal LM with its chat template (plain prompt when it has none), greedy decoding."""

    name = "hf-local"
    Params = HFLocalParams

    def __init__(self, params: HFLocalParams) -> None:
        super().__init__(params)
        self.params: HFLocalParams = params
        self._loaded: tuple[Any, Any, Any] | None = None

    def _model_id(self) -> str:
        """Labels are cached per model; a pinned revision is a different model."""
        return super()._model_id() + (f"@{self.params.revision}" if self.params.revision else "")

    def _load(self) -> tuple[Any, Any, Any]:
        if self._loaded is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from erc_bench import resolve_device

            device = resolve_device(self.params.device)
            pinned = {"revision": self.params.revision} if self.params.revision else {}
            tokenizer = AutoTokenizer.from_pretrained(self.params.model, **pinned)
            tokenizer.padding_side = "left"  # decoder-only: pad on the left so generation continues the prompt
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
            model = AutoModelForCausalLM.from_pretrained(self.params.model, **pinned).to(device).eval()
            self._loaded = (tokenizer, model, device)
        return self._loaded

    def _render(self, tokenizer: Any, prompt: Prompt) -> str:
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(chat_messages(prompt), tokenize=False, add_generation_prompt=True)
        return prompt_text(prompt) + "\nAnswer:"

    def _compute(self, pending: list[tuple[str, Prompt]]) -> Iterator[Computed]:
        if not pending:
            return
        import torch

        tokenizer, model, device = self._load()
        for start in range(0, len(pending), self.params.batch_size):
            chunk = pending[start:start + self.params.batch_size]
            texts = [self._render(tokenizer, prompt) for _, prompt in chunk]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=self.params.max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            prompt_len = enc["input_ids"].shape[1]
            for row, (key, _) in enumerate(chunk):
                new_tokens = out[row, prompt_len:]
                answer = tokenizer.decode(new_tokens, skip_special_tokens=True)
                n_prompt = int(enc["attention_mask"][row].sum())
                self.usage.requests += 1
                yield key, self.parse_raw(answer), n_prompt, int(new_tokens.numel())


class LexiconParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    positive_threshold: float = Field(0.05, ge=-1, le=1)
    negative_threshold: float = Field(-0.05, ge=-1, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> LexiconParams:
        if self.negative_threshold > self.positive_threshold:
            raise ValueError("negative_threshold must not exceed positive_threshold")
        return self


class LexiconLabeller:
    """VADER compound score with thresholds; offline, deterministic, instant."""

    name = "lexicon"
    Params = LexiconParams

    def __init__(self, params: LexiconParams) -> None:
        self.params = params
        self._analyzer: Any = None

    def fingerprint(self) -> str:
        return f"lexicon:vader:{self.params.positive_threshold}:{self.params.negative_threshold}"

    def label(self, texts: list[str]) -> list[LabelOutcome]:
        if self._analyzer is None:
            require("vaderSentiment", "offline-models", "the VADER labeller")
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        out = []
        for text in texts:
            if not text or not text.strip():  # like the LLM labellers: no words, no label (never "neutral")
                out.append(empty_transcript_outcome())
                continue
            score = self._analyzer.polarity_scores(text)["compound"]
            if score >= self.params.positive_threshold:
                label = "positive"
            elif score <= self.params.negative_threshold:
                label = "negative"
            else:
                label = "neutral"
            out.append(LabelOutcome(label, "ok", raw=f"compound={score:.4f}"))
        return out
