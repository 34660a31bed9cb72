"""Hand-crafted acoustic statistics (kind ``speech_encoder``, name ``acoustic-stats``).

The classic pre-SSL emotion features (pitch, energy, spectral envelope) as a
weight-free, fast baseline: numpy and scipy only. Per 25 ms frame (10 ms hop):
40 log-mel bands, 13 MFCCs, log energy, zero-crossing rate and pitch (normalised
cross-correlation, 60-400 Hz, on voiced frames). Each track is summarised by mean,
std and the 10th / 50th / 90th percentiles, plus the voiced-frame ratio, giving
a fixed-length vector (281 values with the defaults) for any clip length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SAMPLE_RATE, canonical_json, digest_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

_WIN, _HOP, _NFFT = 400, 160, 512
_F0_MIN, _F0_MAX = 60.0, 400.0
_PERCENTILES = (10, 50, 90)


class AcousticStatsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_mels: int = Field(40, ge=8, le=128)
    n_mfcc: int = Field(13, ge=1, le=40)
    voicing_threshold: float = Field(0.45, gt=0, lt=1, description="normalised cross-correlation peak for 'voiced'")


def mel_filterbank(n_mels: int, n_fft: int = _NFFT, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular filters on the HTK mel scale, shape [n_mels, n_fft // 2 + 1]."""
    import numpy as np

    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(0.0, to_mel(np.array(rate / 2.0)), n_mels + 2)
    edges_hz = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def frame_signal(wav: np.ndarray) -> np.ndarray:
    """Overlapping frames [T, 400]; a clip shorter than one frame is zero-padded to one."""
    import numpy as np

    if wav.size < _WIN:
        wav = np.pad(wav, (0, _WIN - wav.size))
    count = 1 + (wav.size - _WIN) // _HOP
    index = np.arange(_WIN)[None, :] + _HOP * np.arange(count)[:, None]
    return wav[index]


def pitch_track(wav: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz, voiced mask) per 10 ms hop from the normalised cross-correlation (NCCF).

    Each 25 ms window is correlated with the window ``lag`` samples later, normalised
    by both windows' energies, so every lag in 60-400 Hz is judged on equal terms.
    The period is the shortest lag reaching 90 % of the best peak, which avoids
    the classic octave-down error of picking a multiple of the true period.
    """
    import numpy as np

    lo, hi = int(SAMPLE_RATE / _F0_MAX), int(SAMPLE_RATE / _F0_MIN)
    span = _WIN + hi
    if wav.size < span:
        wav = np.pad(wav, (0, span - wav.size))
    count = 1 + (wav.size - span) // _HOP
    frames = wav[np.arange(span)[None, :] + _HOP * np.arange(count)[:, None]]
    frames = frames - frames.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(2 * span)))
    head = np.fft.rfft(frames[:, :_WIN], n=n_fft, axis=1)
    whole = np.fft.rfft(frames, n=n_fft, axis=1)
    cross = np.fft.irfft(np.conj(head) * whole, n=n_fft, axis=1)[:, lo:hi]
    squares = np.concatenate([np.zeros((count, 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lags = np.arange(lo, hi)
    later = squares[:, lags + _WIN] - squares[:, lags]
    nccf = cross / np.sqrt(np.maximum(squares[:, _WIN:_WIN + 1] * later, 1e-12))
    best = nccf.max(axis=1)
    first = np.argmax(nccf >= 0.9 * best[:, None], axis=1)
    # refine to the local maximum just after the first qualifying lag (within a quarter period)
    steps = np.arange(0, lo)[None, :]
    ahead = np.minimum(first[:, None] + steps, hi - lo - 1)
    candidates = np.where(steps <= (first[:, None] + lo) // 4, np.take_along_axis(nccf, ahead, axis=1), -np.inf)
    lag = ahead[np.arange(count), np.argmax(candidates, axis=1)] + lo
    rms = np.sqrt(squares[:, _WIN] / _WIN)
    loud = rms > 0.05 * max(float(np.percentile(rms, 95)), 1e-8)
    return SAMPLE_RATE / lag.astype(np.float64), (best > threshold) & loud


def _summary(track: np.ndarray) -> np.ndarray:
    """[T, F] -> [F * 5]: mean, std, p10, p50, p90 per column (zeros for an empty track)."""
    import numpy as np

    if track.shape[0] == 0:
        return np.zeros(track.shape[1] * (2 + len(_PERCENTILES)))
    stats = [track.mean(axis=0), track.std(axis=0)] + [np.percentile(track, q, axis=0) for q in _PERCENTILES]
    return np.stack(stats, axis=1).reshape(-1)


class AcousticStatsEncoder:
    name: ClassVar[str] = "acoustic-stats"
    Params: ClassVar[type[BaseModel]] = AcousticStatsParams

    def __init__(self, params: AcousticStatsParams) -> None:
        self.params = params
        self._filters: np.ndarray | None = None

    def fingerprint(self) -> str:
        return digest_text(canonical_json({"encoder": self.name, "version": 1, **self.params.model_dump()}))

    @property
    def dim(self) -> int:
        return 5 * (self.params.n_mels + self.params.n_mfcc + 3) + 1

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        return [self._encode_one(w) for w in waveforms]

    def _encode_one(self, wav: np.ndarray) -> np.ndarray:
        import numpy as np
        from scipy.fft import dct

        if self._filters is None:
            self._filters = mel_filterbank(self.params.n_mels)
        frames = frame_signal(np.asarray(wav, dtype=np.float64))
        windowed = frames * np.hanning(_WIN)[None, :]
        power = np.abs(np.fft.rfft(windowed, n=_NFFT, axis=1)) ** 2
        log_mel = np.log(power @ self._filters.T + 1e-10)
        mfcc = dct(log_mel, type=2, axis=1, norm="ortho")[:, : self.params.n_mfcc]
        log_energy = np.log(np.mean(frames ** 2, axis=1) + 1e-10)[:, None]
        signs = np.signbit(frames)
        zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)[:, None]
        f0, voiced = pitch_track(np.asarray(wav, dtype=np.float64), self.params.voicing_threshold)
        log_f0 = np.log(f0[voiced])[:, None]
        vector = np.concatenate([_summary(log_mel), _summary(mfcc), _summary(log_energy), _summary(zcr),
                                 _summary(log_f0), [voiced.mean()]])
        return vector.astype(np.float32)
