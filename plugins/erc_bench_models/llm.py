"""``hf-llm``: a decoder-only LLM (Qwen2.5, Llama-3.x, any causal LM) as the Stage I text encoder, tuned with LoRA.

``model`` is a hub id (``Qwen/Qwen2.5-7B-Instruct``) or a local folder in Hugging Face format. The base model
loads without its language-model head (``AutoModel``), its weights stay frozen, and LoRA adapters (``peft``,
the ``lora`` extra) on ``target_modules`` train together with the dataset's label head: a hidden layer whose
activations are the utterance feature handed to Stage II (as ``hf-text``'s), then the output layer.

What the cache and ``erc-bench predict`` keep is only what trains: the classifier's ``state_dict`` holds the
adapters and the head, never the base weights, which ``predict`` loads again from ``model``. So the base is
part of the component's identity: a local folder by the digest of its files, a hub id by its name and
``revision`` (pin a commit with ``revision`` to make that exact; an unpinned hub id is "whatever the hub or the
local Hugging Face cache serves"). A different base never replays a cached adapter.

Pooling over the last hidden states: ``last-token`` (the last token the attention mask keeps, whichever side
the tokenizer pads), ``mean`` (masked mean) or ``attentive`` (attentive statistics pooling, the choice of
MiSTER-E's text branch: see ``llm_module``). On CUDA the base runs in bfloat16 (``dtype = "auto"``), on a CPU
in float32; ``load_in_4bit`` quantises it with bitsandbytes (QLoRA) where that library and a GPU exist.

LLM-guided pre-training works as for ``hf-text``: the pre-trained classifier saves its adapters and head
(``save_pretrained``), and the later stages load them over the same base (``adapter``).

No torch, transformers or peft import happens until ``build_classifier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import canonical_json, digest_text
from erc_bench_models.text import directory_digest, resolve_model

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench_models.llm_module import HFLLMClassifier

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


class HFLLMEncoder:
    """A causal LM with LoRA adapters + pooling + hidden layer + output layer, fine-tuned in Stage I."""

    name: ClassVar[str] = "hf-llm"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str = Field("Qwen/Qwen2.5-7B-Instruct", description="hub id or local folder of a causal LM")
        tokenizer: str | None = Field(None, description="tokenizer hub id or folder; default: same as model")
        revision: str | None = Field(None, description="hub branch, tag or commit to pin (part of the identity)")
        adapter: str | None = Field(None, description="folder of saved LoRA adapters + head to start from (what "
                                    "LLM-guided pre-training writes); its LoRA settings replace lora_*")
        max_length: int = Field(128, ge=4, le=32768, description="tokens per utterance (longer ones are truncated)")
        pooling: Literal["last-token", "mean", "attentive"] = Field(
            "last-token", description="last-token, masked mean, or attentive statistics (mean and std)")
        hidden_dim: int = Field(256, ge=1, description="hidden layer width = utterance feature size")
        dropout: float = Field(0.1, ge=0, lt=1, description="dropout before the hidden and output layers")
        lora_rank: int = Field(16, ge=1, description="LoRA rank r")
        lora_alpha: float = Field(32.0, gt=0, description="LoRA scaling numerator (scale = alpha / r)")
        lora_dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA branch's input")
        target_modules: list[str] = Field(list(DEFAULT_TARGETS), min_length=1,
                                          description="module names (suffixes) that get LoRA adapters")
        gradient_checkpointing: bool = Field(False, description="recompute activations in backward (less memory)")
        dtype: Literal["auto", "bfloat16", "float32"] = Field(
            "auto", description="base weights' dtype; auto: bfloat16 when CUDA is present, else float32")
        load_in_4bit: bool = Field(False, description="4-bit NF4 base via bitsandbytes (QLoRA; needs a GPU)")

    def __init__(self, params: Params) -> None:
        self.params = params

    def build_classifier(self, num_labels: int, labels: Sequence[str] | None = None) -> HFLLMClassifier:
        """Base + LoRA (or the saved ``adapter``) + a head for ``num_labels`` classes; a saved head's output
        layer is reused only when ``labels`` equal the saved ones."""
        from erc_bench_models.llm_module import build_llm_classifier

        p = self.params
        model = resolve_model(p.model)
        tokenizer = resolve_model(p.tokenizer) if p.tokenizer else model
        adapter = resolve_model(p.adapter) if p.adapter else None
        return build_llm_classifier(p, model, tokenizer, adapter, num_labels, labels)

    def build_labelled_classifier(self, labels: Sequence[str]) -> HFLLMClassifier:
        """``LabelledClassifier``: the label names let a saved adapter keep its output layer when they match."""
        return self.build_classifier(len(labels), labels=labels)

    def checkpoint_params(self, checkpoint: str) -> dict[str, Any]:
        """``LoadsCheckpoint``: the same base, starting from the adapters and head pre-training saved."""
        return self.params.model_dump(mode="json", exclude_unset=True) | {"adapter": checkpoint}

    def describe(self) -> str:
        return f"{self.name} ({self.params.model}, LoRA r={self.params.lora_rank})"

    def _identity(self, name: str) -> str:
        resolved = resolve_model(name)
        if Path(resolved).is_dir():
            return f"dir:{directory_digest(Path(resolved))}"
        return f"hub:{name}" + (f"@{self.params.revision}" if self.params.revision else "")

    def fingerprint(self) -> str:
        """The base (folder digest, or hub id and revision), the tokenizer, the adapter folder and the settings."""
        p = self.params
        settings = p.model_dump(exclude={"model", "tokenizer", "adapter", "revision"})
        return digest_text(canonical_json({
            "component": self.name, "model": self._identity(p.model),
            "tokenizer": self._identity(p.tokenizer or p.model),
            "adapter": f"dir:{directory_digest(Path(resolve_model(p.adapter)))}" if p.adapter else None,
            "settings": settings}))
