"""Self-supervised speech models through transformers (kind ``speech_encoder``, name ``hf-ssl``).

Any wav2vec2 / HuBERT / WavLM checkpoint (hub id or local folder). Hidden states
are mean-pooled over the frames that cover real audio: frame counts come from the
model's own convolution arithmetic, so padding frames never enter the mean.
Batches are sorted by length. Where the checkpoint's feature extractor uses an
attention mask, padding is masked and a batched clip gets its one-at-a-time
embedding. Base models (wav2vec2-base, HuBERT/WavLM-base) were trained without a
mask and normalise over time, so padding would make a clip's embedding depend on
its batch neighbours; for them each clip is zero-padded to the next whole
``bucket_seconds`` and batched only with clips of the same bucket, which keeps
embeddings (and the cache) a function of the clip alone. Clips over ``max_seconds``
are centre-cropped, and only that span is decoded (``input_span``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SAMPLE_RATE, UserError, canonical_json, digest_text, resolve_device
from erc_bench_speech.torch_util import bucket_width, centre_crop, centre_span, length_batches

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


class HfSslParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("microsoft/wavlm-base-plus", description="hub id or local folder")
    revision: str | None = Field(None, description="hub branch, tag or commit to pin")
    layer: int | Literal["all"] = Field(-1, description="hidden-state index (0 = CNN features) or 'all'")
    batch_size: int = Field(8, ge=1)
    max_seconds: float = Field(30.0, gt=0)
    bucket_seconds: float = Field(1.0, gt=0, description="padding granularity for models without a mask")
    device: Literal["auto", "cpu", "cuda"] = "auto"


class HfSslEncoder:
    name: ClassVar[str] = "hf-ssl"
    Params: ClassVar[type[BaseModel]] = HfSslParams

    def __init__(self, params: HfSslParams) -> None:
        self.params = params
        self._model: Any = None
        self._extractor: Any = None
        self._device: Any = None

    @property
    def batch_size(self) -> int:
        """Clips per forward pass; the engine streams audio in chunks of at least this many."""
        return self.params.batch_size

    def input_span(self, samples: int, head: Callable[[int], Any]) -> tuple[int, int] | None:
        """``ReadsSpan``: the centre ``max_seconds`` that ``encode`` keeps."""
        return centre_span(samples, self.params.max_seconds)

    def fingerprint(self) -> str:
        # revision only when set, so unpinned encoders keep their cache keys
        unset = {"revision"} if self.params.revision is None else set()
        options = self.params.model_dump(exclude={"device", "batch_size"} | unset)
        return digest_text(canonical_json({"encoder": self.name, **options}))

    def _load(self) -> None:
        from transformers import AutoFeatureExtractor, AutoModel, Wav2Vec2FeatureExtractor

        try:
            self._model = AutoModel.from_pretrained(self.params.model, **self._revision())
        except Exception as exc:  # noqa: BLE001 - missing model / offline hub -> one line
            at = f" at revision {self.params.revision}" if self.params.revision else ""
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise UserError(f"hf-ssl: cannot load model '{self.params.model}'{at}: {type(exc).__name__}: "
                            f"{first_line}") from None
        try:
            self._extractor = AutoFeatureExtractor.from_pretrained(self.params.model, **self._revision())
        except Exception:  # noqa: BLE001 - checkpoints without a preprocessor config use the wav2vec2 defaults
            self._extractor = Wav2Vec2FeatureExtractor(sampling_rate=SAMPLE_RATE)
        self._device = resolve_device(self.params.device)
        self._model.to(self._device).eval()

    def _revision(self) -> dict[str, str]:
        local = Path(self.params.model).expanduser().is_dir()
        return {"revision": self.params.revision} if self.params.revision and not local else {}

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        if self._model is None:
            self._load()
        clips = [centre_crop(np.asarray(w, dtype=np.float32), self.params.max_seconds) for w in waveforms]
        masked = bool(getattr(self._extractor, "return_attention_mask", False))
        bucket = None if masked else int(self.params.bucket_seconds * SAMPLE_RATE)
        out: list[np.ndarray | None] = [None] * len(clips)
        for idx in length_batches([c.size for c in clips], self.params.batch_size, bucket):
            for i, vec in zip(idx, self._encode_batch([clips[i] for i in idx], bucket), strict=True):
                out[i] = vec
        return [v for v in out if v is not None]

    def _encode_batch(self, clips: list[np.ndarray], bucket: int | None) -> list[np.ndarray]:
        import numpy as np
        import torch

        lengths = torch.tensor([c.size for c in clips])
        if bucket is not None:  # normalise on the real samples, then pad to the bucket with zeros
            width = bucket_width(max(c.size for c in clips), bucket)
            normalised = [self._extractor(c, sampling_rate=SAMPLE_RATE)["input_values"][0] for c in clips]
            clips = [np.pad(np.asarray(c, dtype=np.float32), (0, width - c.size)) for c in normalised]
            inputs = {"input_values": torch.from_numpy(np.stack(clips))}
        else:
            inputs = self._extractor(clips, sampling_rate=SAMPLE_RATE, padding=True, return_tensors="pt",
                                     return_attention_mask=True)
        kwargs: dict[str, Any] = {"input_values": inputs["input_values"].to(self._device),
                                  "output_hidden_states": True}
        if bucket is None:
            kwargs["attention_mask"] = inputs["attention_mask"].to(self._device)
        with torch.no_grad():
            hidden = self._model(**kwargs).hidden_states
        frames = self._model._get_feat_extract_output_lengths(lengths).clamp(min=1)
        stacked = torch.stack(hidden) if self.params.layer == "all" else hidden[self.params.layer].unsqueeze(0)
        mask = (torch.arange(stacked.shape[2])[None, :] < frames[:, None]).to(stacked.dtype).to(stacked.device)
        pooled = (stacked * mask[None, :, :, None]).sum(2) / mask.sum(1)[None, :, None]  # [L, B, D]
        pooled = pooled.float().cpu().numpy()
        if self.params.layer == "all":
            return [pooled[:, b] for b in range(len(clips))]
        return [pooled[0, b] for b in range(len(clips))]
