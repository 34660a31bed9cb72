"""Targets of CARE pre-training: sentence embeddings of transcripts and frame-level acoustic descriptors.

Semantic target (as the authors): a frozen text encoder's sentence embedding of the
utterance's ASR transcript (RoBERTa-base, mean-pooled last layer, in their code; any
``hf-text`` model here, with its own ``pooling``).

Acoustic target: the authors regress PASE+ features (PASE+ is a separate network whose
weights and code are not available offline). Substitutes, chosen by ``acoustic_target.kind``:
``folder`` reads precomputed arrays (PASE+ users: the authors' ``[dims, frames]`` files at
100 frames/s), ``opensmile`` computes openSMILE low-level descriptors (eGeMAPS: 25 LLDs per
10 ms), ``log-mel`` computes log-mel filterbanks (25 ms windows, 10 ms hop). Every target
is standardised per utterance with ``(x - mean) / (std + 1)`` (the authors' normalisation of
their PASE+ targets) and later resampled in time to the speech model's frame rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from erc_bench import SAMPLE_RATE, UserError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from erc_bench_speech.care_pretrain_spec import AcousticTarget

HOP_SECONDS = 0.01


def target_dim(target: AcousticTarget) -> int | None:
    """Width of the acoustic targets when known without computing any (folder: from the first file)."""
    if target.kind == "log-mel":
        return target.n_mels
    if target.kind == "opensmile":
        return {"eGeMAPSv02": 25, "GeMAPSv01b": 18, "ComParE_2016": 65}[target.feature_set]
    return None


class AcousticTargets:
    """Computes (or reads) one utterance's ``[frames, dims]`` targets and their frame rate."""

    def __init__(self, target: AcousticTarget) -> None:
        self.target = target
        self._smile: Any = None
        self._mel: Any = None

    @property
    def frame_rate(self) -> float:
        return self.target.frame_rate_hz if self.target.kind == "folder" else 1.0 / HOP_SECONDS

    def __call__(self, utt_id: str, wav: np.ndarray) -> np.ndarray:
        import numpy as np

        kind = self.target.kind
        feats = self._folder(utt_id) if kind == "folder" else self._opensmile(wav) if kind == "opensmile" \
            else self._log_mel(wav)
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] == 0:
            raise UserError(f"care-pretrain: acoustic targets of {utt_id} have shape {feats.shape}, expected "
                            "[frames, dims]")
        return (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1.0)

    def _folder(self, utt_id: str) -> np.ndarray:
        import numpy as np

        assert self.target.folder is not None
        path = Path(self.target.folder).expanduser() / f"{utt_id}{self.target.suffix}"
        if not path.is_file():
            raise UserError(f"care-pretrain: acoustic_target.folder has no {path.name} for utterance {utt_id}")
        feats = np.load(path)
        return feats.T if self.target.channels_first else feats

    def _opensmile(self, wav: np.ndarray) -> np.ndarray:
        if self._smile is None:
            try:
                import opensmile
            except ImportError:
                raise UserError("care-pretrain: acoustic_target.kind = 'opensmile' needs the opensmile package "
                                "(pip install 'erc-bench[care]')") from None
            self._smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, self.target.feature_set),
                                          feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
        return self._smile.process_signal(wav, SAMPLE_RATE).to_numpy()

    def _log_mel(self, wav: np.ndarray) -> np.ndarray:
        import numpy as np
        import torch

        n_fft, hop = 512, int(HOP_SECONDS * SAMPLE_RATE)
        if self._mel is None:
            from transformers.audio_utils import mel_filter_bank

            bank = mel_filter_bank(num_frequency_bins=n_fft // 2 + 1, num_mel_filters=self.target.n_mels,
                                   min_frequency=20.0, max_frequency=SAMPLE_RATE / 2, sampling_rate=SAMPLE_RATE,
                                   norm="slaney", mel_scale="slaney")
            self._mel = torch.from_numpy(bank).float()
        signal = torch.from_numpy(np.asarray(wav, dtype=np.float32))
        if signal.numel() < n_fft:
            signal = torch.nn.functional.pad(signal, (0, n_fft - signal.numel()))
        spec = torch.stft(signal, n_fft, hop, win_length=400, window=torch.hann_window(400), center=True,
                          return_complex=True).abs().pow(2)
        return torch.log(spec.T @ self._mel + 1e-6).numpy()


def text_embeddings(ref: Any, texts: list[str], device: Any, batch_size: int = 32) -> np.ndarray:
    """Frozen sentence embeddings (the text encoder's pooled last layer) of ``texts``, ``[N, D]``."""
    import numpy as np
    import torch

    from erc_bench import build

    encoder = build("text_encoder", ref.plugin, ref.params)
    if not hasattr(encoder, "build_classifier"):
        raise UserError(f"care-pretrain: text_target '{ref.plugin}' cannot give sentence embeddings")
    classifier = encoder.build_classifier(1)
    model, tokenizer = classifier.encoder.to(device).eval(), classifier.tokenizer
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                              max_length=classifier.max_length, return_tensors="pt").to(device)
            states = model(**batch).last_hidden_state
            if classifier.pooling == "mean":
                weights = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            else:
                pooled = states[:, 0]
            out.append(pooled.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def resample_frames(feats: Any, frames: int) -> Any:
    """``[B, T, D]`` targets -> ``[B, frames, D]`` by linear interpolation in time (rates differ per target)."""
    import torch.nn.functional as F

    return F.interpolate(feats.transpose(1, 2), size=frames, mode="linear", align_corners=False).transpose(1, 2)
