"""Self-supervised speech models through transformers (kind ``speech_encoder``, name ``hf-ssl``).

Any wav2vec2 / HuBERT / WavLM checkpoint (hub id or local folder). Hidden states
are mean-pooled over the frames that cover real audio: frame counts come from the
model's own convolution arithmetic, so padding frames never enter the mean. The
attention mask is passed only where the checkpoint's feature extractor asks for
one (base models were trained without it and expect zero padding); batches are
sorted by length inside ``encode`` so padding stays small either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench.cache import canonical_json, digest_text
from erc_bench.errors import UserError
from erc_bench.interfaces import SAMPLE_RATE
from erc_bench_speech.torch_util import centre_crop, torch_device

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


class HfSslParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("microsoft/wavlm-base-plus", description="hub id or local folder")
    layer: int | Literal["all"] = Field(-1, description="hidden-state index (0 = CNN features) or 'all'")
    batch_size: int = Field(8, ge=1)
    max_seconds: float = Field(30.0, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class HfSslEncoder:
    name: ClassVar[str] = "hf-ssl"
    Params: ClassVar[type[BaseModel]] = HfSslParams

    def __init__(self, params: HfSslParams) -> None:
        self.params = params
        self._model: Any = None
        self._extractor: Any = None
        self._device: Any = None

    def fingerprint(self) -> str:
        return digest_text(canonical_json({"encoder": self.name, **self.params.model_dump(exclude={"device",
                                                                                                    "batch_size"})}))

    def _load(self) -> None:
        from transformers import AutoFeatureExtractor, AutoModel, Wav2Vec2FeatureExtractor

        try:
            self._model = AutoModel.from_pretrained(self.params.model)
        except Exception as exc:  # noqa: BLE001 - missing model / offline hub -> one line
            raise UserError(f"hf-ssl: cannot load model '{self.params.model}': {type(exc).__name__}: {exc}") from None
        try:
            self._extractor = AutoFeatureExtractor.from_pretrained(self.params.model)
        except Exception:  # noqa: BLE001 - checkpoints without a preprocessor config use the wav2vec2 defaults
            self._extractor = Wav2Vec2FeatureExtractor(sampling_rate=SAMPLE_RATE)
        self._device = torch_device(self.params.device)
        self._model.to(self._device).eval()

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        if self._model is None:
            self._load()
        clips = [centre_crop(np.asarray(w, dtype=np.float32), self.params.max_seconds) for w in waveforms]
        order = sorted(range(len(clips)), key=lambda i: clips[i].size)
        out: list[np.ndarray | None] = [None] * len(clips)
        size = self.params.batch_size
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            for i, vec in zip(idx, self._encode_batch([clips[i] for i in idx])):
                out[i] = vec
        return [v for v in out if v is not None]

    def _encode_batch(self, clips: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        inputs = self._extractor(clips, sampling_rate=SAMPLE_RATE, padding=True, return_tensors="pt",
                                 return_attention_mask=True)
        lengths = torch.tensor([c.size for c in clips])
        kwargs: dict[str, Any] = {"input_values": inputs["input_values"].to(self._device),
                                  "output_hidden_states": True}
        if getattr(self._extractor, "return_attention_mask", False):
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
