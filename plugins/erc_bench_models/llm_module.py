"""The LoRA-tuned LLM classifier behind ``hf-llm`` (imports torch, transformers and peft).

``HFLLMClassifier(texts) -> (logits [B, C], features [B, hidden_dim])``, like ``hf-text``'s classifier: the
base model's last hidden states, pooled, then a hidden layer (the Stage II feature) and the output layer.

Its ``state_dict`` holds only the parameters that train (LoRA adapters, pooling, head), so every snapshot the
training loop takes, the weights the cache stores and the ones ``predict`` loads are megabytes, not the base's
gigabytes; ``load_state_dict`` takes exactly those keys back. ``save_pretrained`` writes peft's adapter folder,
the tokenizer and the head (``erc_head.safetensors`` / ``erc_head.json``): the ``adapter`` param loads it.

Attentive statistics pooling: MiSTER-E's text branch (``text_qwen.py`` in iiscleap/MiSTER-E: LayerNorm over the
last hidden states, then ``AttentiveStatisticsPooling`` after Okabe et al. 2018, a tanh projection scored
against a learnt vector, softmax over the utterance's tokens, the weighted mean and the weighted standard
deviation ``sqrt(clamp(E_w[x^2] - mu^2, 1e-5))`` concatenated). Ours, written anew: the same statistics computed
for the whole padded batch with the attention mask (theirs loops over utterances and assumes right padding),
in float32 whatever the base's dtype, padding positions zeroed first so that a non-finite state there cannot
leak in; their head (Linear, ReLU, dropout 0.5, Linear) is replaced by ``hf-text``'s so that every text encoder
hands Stage II the same kind of feature.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from erc_bench import UserError, require

HEAD_WEIGHTS = "erc_head.safetensors"
HEAD_CONFIG = "erc_head.json"
_HEAD_PREFIXES = ("pooler.", "hidden.", "output.")


def last_token_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The state of each row's last kept token (``mask [B, T]``), for left or right padding alike."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask.bool(), positions, -1).argmax(dim=1)
    return states[torch.arange(states.shape[0], device=states.device), last]


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    keep = mask.bool().unsqueeze(-1)
    total = torch.where(keep, states, torch.zeros((), dtype=states.dtype, device=states.device)).sum(dim=1)
    return total / keep.sum(dim=1).clamp(min=1).to(states.dtype)


class AttentiveStatisticsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over the kept tokens: ``[B, T, W] -> [B, 2W]``."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.project = nn.Linear(width, width)
        self.attention = nn.Parameter(torch.empty(width, 1))
        nn.init.normal_(self.attention, mean=0.0, std=1.0)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.bool().unsqueeze(-1)
        x = self.norm(torch.where(keep, states.float(), torch.zeros((), device=states.device)))
        scores = (torch.tanh(self.project(x)) @ self.attention).squeeze(-1)
        scores = scores.masked_fill(~mask.bool(), torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=1).unsqueeze(-1) * keep
        mean = (x * weights).sum(dim=1)
        std = ((x * x * weights).sum(dim=1) - mean * mean).clamp(min=1e-5).sqrt()
        return torch.cat([mean, std], dim=-1)


class HFLLMClassifier(nn.Module):
    """A peft-wrapped base model, pooling, hidden layer and output layer; tokenises on the module's device."""

    def __init__(self, backbone: nn.Module, tokenizer: Any, width: int, num_labels: int, hidden_dim: int,
                 dropout: float, pooling: str, max_length: int, labels: Sequence[str] | None = None,
                 base: str = "") -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling, self.max_length, self.base = pooling, max_length, base
        self.labels = list(labels) if labels is not None else None
        self.feature_dim = hidden_dim
        self.pooler = AttentiveStatisticsPooling(width) if pooling == "attentive" else None
        pooled = 2 * width if pooling == "attentive" else width
        self.hidden = nn.Sequential(nn.Dropout(dropout), nn.Linear(pooled, hidden_dim), nn.Tanh())
        self.output = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, num_labels))
        # what trains, and so what the state dict holds: the adapters (peft froze the rest) and the head
        self.kept = frozenset(name for name, param in self.named_parameters() if param.requires_grad)

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.hidden(self.encode(texts))
        return self.output(features), features

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """The pooled last hidden states ``[B, width]`` (``[B, 2 width]`` for attentive pooling), float32."""
        device = self.hidden[1].weight.device
        filler = self.tokenizer.eos_token or " "
        batch = self.tokenizer([t if t.strip() else filler for t in texts], padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt").to(device)
        mask = batch["attention_mask"]
        # positions count kept tokens only, so a left-padded utterance is encoded as it would be alone
        positions = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
        states = self.backbone(input_ids=batch["input_ids"], attention_mask=mask,
                               position_ids=positions).last_hidden_state
        if self.pooler is not None:
            return self.pooler(states, mask)
        pooled = last_token_pool(states, mask) if self.pooling == "last-token" else mean_pool(states, mask)
        return pooled.float()

    # ------------------------------------------------------------------ what the cache keeps
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",  # type: ignore[override]
                   keep_vars: bool = False) -> dict[str, Any]:
        """The adapters' and the head's tensors only (the base loads again from its model name or folder)."""
        full = super().state_dict(*args, destination=destination, prefix=prefix, keep_vars=keep_vars)
        kept = {prefix + name for name in self.kept}
        for key in [k for k in full if k.startswith(prefix) and k not in kept]:
            del full[key]
        return full

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,  # type: ignore[override]
                        assign: bool = False) -> Any:
        """Exactly the keys ``state_dict`` gives (``strict``): the adapters and the head."""
        missing, unexpected = sorted(self.kept - set(state_dict)), sorted(set(state_dict) - self.kept)
        hint = "were they trained with other lora_* / target_modules / pooling / hidden_dim settings?"
        if strict and (missing or unexpected):
            raise UserError(f"hf-llm weights do not fit this model ({len(missing)} missing, e.g. {missing[:1]}; "
                            f"{len(unexpected)} unexpected, e.g. {unexpected[:1]}): {hint}")
        try:
            result = super().load_state_dict(state_dict, strict=False, assign=assign)
        except RuntimeError as exc:  # same names, other shapes (e.g. another lora_rank)
            raise UserError(f"hf-llm weights do not fit this model ({str(exc).strip().splitlines()[-1].strip()}): "
                            f"{hint}") from None
        result.missing_keys[:] = [k for k in result.missing_keys if k in self.kept]
        return result

    def trainable_fraction(self) -> float:
        """Trainable parameters / all parameters (the base's included)."""
        total = sum(p.numel() for p in self.parameters())
        return sum(p.numel() for p in self.parameters() if p.requires_grad) / max(total, 1)

    # ------------------------------------------------------------------ LLM-guided pre-training
    def save_pretrained(self, directory: str | Path) -> Path:
        """peft's adapter folder, the tokenizer and the head, loadable through ``hf-llm``'s ``adapter``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        head = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items() if k.startswith(_HEAD_PREFIXES)}
        save_file(head, str(out / HEAD_WEIGHTS))
        config = {"format": 1, "base": self.base, "hidden_dim": self.feature_dim, "pooling": self.pooling,
                  "num_labels": self.output[1].out_features, "labels": self.labels, "max_length": self.max_length}
        (out / HEAD_CONFIG).write_text(json.dumps(config, indent=2))
        return out

    def load_head(self, directory: Path) -> bool:
        """Reuse a saved head's pooling and hidden layer; its output layer only when the labels are the same."""
        config = json.loads((directory / HEAD_CONFIG).read_text())
        for key, ours in (("hidden_dim", self.feature_dim), ("pooling", self.pooling)):
            if config.get(key) != ours:
                raise UserError(f"{directory}: its head has {key} {config.get(key)!r}, the text encoder params ask "
                                f"for {ours!r}; set {key} = {config.get(key)!r}")
        weights = load_file(str(directory / HEAD_WEIGHTS))
        same_labels = self.labels is not None and config.get("labels") == self.labels
        chosen = {k: v for k, v in weights.items() if same_labels or not k.startswith("output.")}
        super().load_state_dict(chosen, strict=False)
        return same_labels


def _dtype(choice: str) -> torch.dtype:
    if choice == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return torch.bfloat16 if choice == "bfloat16" else torch.float32


def _revision(name: str, revision: str | None) -> dict[str, str]:
    return {"revision": revision} if revision and not Path(name).is_dir() else {}


def _hint(what: str, name: str, exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"hf-llm {what} '{name}' could not be loaded ({first_line}); give a local folder or a model already "
            "in the Hugging Face cache (offline runs set HF_HUB_OFFLINE=1)")


def load_tokenizer(name: str, revision: str | None) -> Any:
    """The tokenizer, with eos as its pad token when it has none (most causal LMs)."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name, **_revision(name, revision))
    except (OSError, ValueError) as exc:
        raise UserError(_hint("tokenizer", name, exc)) from None
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise UserError(f"hf-llm tokenizer '{name}' has neither a pad nor an eos token to pad with")
        tok.pad_token = tok.eos_token
    return tok


def load_base(name: str, params: Any) -> nn.Module:
    """The base model without its LM head, frozen, in the params' dtype (or 4-bit), checkpointing if asked."""
    import transformers
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    dtype = _dtype(params.dtype)
    key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    kwargs: dict[str, Any] = {key: dtype, **_revision(name, params.revision)}
    if params.load_in_4bit:
        if not torch.cuda.is_available():
            raise UserError("hf-llm: load_in_4bit needs a CUDA GPU (bitsandbytes quantises on the GPU)")
        try:
            import bitsandbytes  # noqa: F401  # optional: in no extra
        except ImportError:
            raise UserError("hf-llm: load_in_4bit needs bitsandbytes, which is not installed (it is optional and "
                            "in no extra): pip install bitsandbytes, or set load_in_4bit = false") from None
        from transformers import BitsAndBytesConfig

        compute = dtype if dtype != torch.float32 else torch.bfloat16
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=compute,
                                                           bnb_4bit_use_double_quant=True)
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    try:
        base = AutoModel.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as exc:
        raise UserError(_hint("model", name, exc)) from None
    for param in base.parameters():
        param.requires_grad_(False)
    if hasattr(base.config, "use_cache"):
        base.config.use_cache = False
    if params.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=params.gradient_checkpointing,
                                               gradient_checkpointing_kwargs={"use_reentrant": False})
    elif params.gradient_checkpointing:
        if hasattr(base, "activation_checkpointing_enable"):  # transformers >= 5 (the old name is deprecated)
            base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return base


def build_llm_classifier(params: Any, model: str, tokenizer: str, adapter: str | None, num_labels: int,
                         labels: Sequence[str] | None) -> HFLLMClassifier:
    """``hf-llm``'s classifier: tokenizer, frozen base, LoRA adapters (fresh, or ``adapter``'s), head."""
    require("peft", "lora", "the hf-llm text encoder")

    tok = load_tokenizer(tokenizer, params.revision)
    base = load_base(model, params)
    width = int(base.config.hidden_size)
    with warnings.catch_warnings():  # peft asks transformers 5 by a deprecated name; not the user's business
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        backbone = _with_adapters(base, params, model, adapter)
    classifier = HFLLMClassifier(backbone, tok, width, num_labels, params.hidden_dim, params.dropout, params.pooling,
                                 params.max_length, labels, base=params.model)
    if adapter is not None:
        classifier.load_head(Path(adapter))
    return classifier


def _with_adapters(base: nn.Module, params: Any, model: str, adapter: str | None) -> nn.Module:
    """Fresh LoRA adapters on ``target_modules``, or the saved ones in ``adapter`` (trainable)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if adapter is None:
        config = LoraConfig(r=params.lora_rank, lora_alpha=params.lora_alpha, lora_dropout=params.lora_dropout,
                            target_modules=list(params.target_modules), bias="none")
        try:
            backbone = get_peft_model(base, config)
        except ValueError as exc:
            raise UserError(f"hf-llm: LoRA target_modules {params.target_modules} do not fit '{model}' "
                            f"({str(exc).splitlines()[0]})") from None
    else:
        _check_adapter(Path(adapter), params.model)
        backbone = PeftModel.from_pretrained(base, adapter, is_trainable=True)
    return backbone


def _check_adapter(folder: Path, base: str) -> None:
    if not (folder / "adapter_config.json").is_file() or not (folder / HEAD_CONFIG).is_file():
        raise UserError(f"hf-llm adapter '{folder}' is not a folder hf-llm saved (adapter_config.json and "
                        f"{HEAD_CONFIG} expected)")
    saved = json.loads((folder / HEAD_CONFIG).read_text()).get("base")
    if saved and saved != base:
        raise UserError(f"hf-llm adapter '{folder}' was trained on base '{saved}', the params name '{base}'; "
                        "adapters only fit the base they were trained on")
