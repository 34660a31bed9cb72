"""Hand-crafted acoustic statistics (kind ``speech_encoder``, name ``acoustic-stats``).

The classic pre-SSL emotion features (pitch, energy, spectral envelope) as a
weight-free, fast baseline: numpy and scipy only. Per 25 ms frame (10 ms hop):
40 log-mel bands, 13 MFCCs, log energy, zero-crossing rate and pitch (normalised
cross-correlation, 60-400 Hz, on voiced frames). Each track is summarised by mean,
std and the 10th / 50th / 90th percentiles, plus the voiced-frame ratio, giving
a fixed-length vector (281 values with the defaults) for any clip length.

Long clips run in bounded memory (the frame matrices of a whole 3-hour clip in
float64 came to some 15 GB): frames are computed ``_BLOCK_FRAMES`` (20 s) at a time
and only the small per-frame tracks are kept. Up to ``_SEGMENT_FRAMES`` (10 min)
the statistics are those of the whole clip (a clip of one block, under 20 s, runs
the very same arithmetic as before, bit for bit; longer ones agree to float
rounding). Beyond that, each 10-minute segment is summarised on its own and the
summaries pooled by frame count: means and standard deviations exactly (law of
total variance), percentiles as the frame-weighted mean of the segments'
percentiles, the voiced ratio exactly, and the loudness gate for voicing set per
segment. ``encode_stream`` takes a clip as an iterable of windows, so the engine
never decodes a long clip whole for this encoder.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SAMPLE_RATE, canonical_json, digest_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

_WIN, _HOP, _NFFT = 400, 160, 512
_F0_MIN, _F0_MAX = 60.0, 400.0
_PERCENTILES = (10, 50, 90)
_BLOCK_FRAMES = 2000  # frames computed at once (20 s; ~150 MB of FFT work in float64)
_SEGMENT_FRAMES = 60_000  # frames whose tracks are kept for exact statistics (10 min; ~27 MB)


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

    Voiced: an NCCF peak above ``threshold`` in a frame louder than 5 % of the clip's
    95th-percentile RMS (quiet frames have unreliable peaks).
    """
    f0, best, rms = _nccf_track(wav)
    return f0, voicing(best, rms, threshold)


def voicing(best: np.ndarray, rms: np.ndarray, threshold: float) -> np.ndarray:
    """The voiced mask from per-frame NCCF peaks and RMS, the loudness gate taken over these frames."""
    import numpy as np

    loud = rms > 0.05 * max(float(np.percentile(rms, 95)), 1e-8)
    return (best > threshold) & loud


def _nccf_track(wav: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f0 in Hz, NCCF peak, RMS) per 10 ms hop; every value depends on its own 41.6 ms span only.

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
    return SAMPLE_RATE / lag.astype(np.float64), best, rms


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
        return [self.encode_stream([w]) for w in waveforms]

    def encode_stream(self, windows: Iterable[np.ndarray]) -> np.ndarray:
        """One clip given as consecutive windows of samples (any sizes): the same vector as the whole clip."""
        import numpy as np

        if self._filters is None:
            self._filters = mel_filterbank(self.params.n_mels)
        stats = _StreamStats(self._filters, self.params.n_mfcc, self.params.voicing_threshold)
        for window in windows:
            stats.feed(np.asarray(window))
        return stats.finish().astype(np.float32)


def _spectral(frames: np.ndarray, filters: np.ndarray, n_mfcc: int) -> tuple[np.ndarray, ...]:
    """Per frame: log-mel [T, n_mels], MFCC [T, n_mfcc], log energy [T, 1], zero-crossing rate [T, 1].

    Kept as four arrays, as before streaming: summaries of each give the very same floats.
    """
    import numpy as np
    from scipy.fft import dct

    windowed = frames * np.hanning(_WIN)[None, :]
    power = np.abs(np.fft.rfft(windowed, n=_NFFT, axis=1)) ** 2
    log_mel = np.log(power @ filters.T + 1e-10)
    mfcc = dct(log_mel, type=2, axis=1, norm="ortho")[:, :n_mfcc]
    log_energy = np.log(np.mean(frames ** 2, axis=1) + 1e-10)[:, None]
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)[:, None]
    return log_mel, mfcc, log_energy, zcr


class _StreamStats:
    """Frame tracks of one clip fed window by window; memory: one block of frames plus one segment's tracks.

    Spectral frame k covers samples [160 k, 160 k + 400) and pitch frame k [160 k, 160 k + 666), so a
    block of frames needs only the samples from its first frame on: the buffer keeps the not yet framed
    tail, and every frame is computed from exactly the samples the whole-clip computation would use.
    """

    def __init__(self, filters: np.ndarray, n_mfcc: int, threshold: float) -> None:
        import numpy as np

        self.filters, self.n_mfcc, self.threshold = filters, n_mfcc, threshold
        self.buffer = np.zeros(0, dtype=np.float64)
        self.started = False  # a block was framed: the tail is never padded as a short clip
        self.tracks: list[tuple[np.ndarray, ...]] = []  # current segment: spectral tracks per block
        self.pitch: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (f0, best, rms) per block
        self.frames_in_segment = 0
        self.segments: list[tuple[int, np.ndarray, int, np.ndarray, int, int]] = []

    def feed(self, window: np.ndarray) -> None:
        import numpy as np

        span = _WIN + int(SAMPLE_RATE / _F0_MIN)
        need = (_BLOCK_FRAMES - 1) * _HOP + span  # samples for a block plus one more pitch frame
        step = _BLOCK_FRAMES * _HOP
        for begin in range(0, window.size, step):  # never a whole long window in float64 at once
            piece = np.asarray(window[begin:begin + step], dtype=np.float64)
            self.buffer = np.concatenate([self.buffer, piece]) if self.buffer.size else piece
            while self.buffer.size >= need + _HOP:
                self._block(self.buffer[:need], _BLOCK_FRAMES)
                self.buffer = self.buffer[step:]

    def _block(self, samples: np.ndarray, count: int | None) -> None:
        """Frame ``count`` spectral and pitch frames from ``samples`` (``None``: all the tail allows)."""
        self.started = self.started or count is not None
        spectral = _spectral(frame_signal(samples), self.filters, self.n_mfcc)
        f0, best, rms = _nccf_track(samples)
        if count is not None:
            spectral = tuple(track[:count] for track in spectral)
            f0, best, rms = f0[:count], best[:count], rms[:count]
        self.tracks.append(spectral)
        self.pitch.append((f0, best, rms))
        self.frames_in_segment += spectral[0].shape[0]
        if self.frames_in_segment >= _SEGMENT_FRAMES:
            self._close_segment()

    def _close_segment(self) -> None:
        import numpy as np

        if not self.tracks:
            return
        groups = [np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*self.tracks, strict=True)]
        f0, best, rms = (np.concatenate(parts) for parts in zip(*self.pitch, strict=True))
        voiced = voicing(best, rms, self.threshold)
        log_f0 = np.log(f0[voiced])[:, None]
        summary = np.concatenate([_summary(group) for group in groups])
        self.segments.append((groups[0].shape[0], summary, int(voiced.sum()), _summary(log_f0), voiced.size,
                              int(voiced.sum())))
        self.tracks, self.pitch, self.frames_in_segment = [], [], 0

    def finish(self) -> np.ndarray:
        import numpy as np

        tail = self.buffer
        if self.started:
            # frames that fit in the tail; a clip never pads once a block was taken
            spectral_n = 0 if tail.size < _WIN else 1 + (tail.size - _WIN) // _HOP
            span = _WIN + int(SAMPLE_RATE / _F0_MIN)
            pitch_n = 0 if tail.size < span else 1 + (tail.size - span) // _HOP
            if spectral_n:
                spectral = tuple(t[:spectral_n] for t in _spectral(frame_signal(tail), self.filters, self.n_mfcc))
                f0, best, rms = _nccf_track(tail) if pitch_n else (np.zeros(0),) * 3
                self.tracks.append(spectral)
                self.pitch.append((f0[:pitch_n], best[:pitch_n], rms[:pitch_n]))
                self.frames_in_segment += spectral_n
        else:
            self._block(tail, None)  # the whole clip at once: the pre-streaming arithmetic exactly
        if self.tracks:
            self._close_segment()
        return _pool(self.segments)


def _pool(segments: list[tuple[int, np.ndarray, int, np.ndarray, int, int]]) -> np.ndarray:
    """One vector from per-segment summaries; a single segment gives its own summary unchanged."""
    import numpy as np

    if len(segments) == 1:
        frames, summary, _, f0_summary, pitch_frames, voiced = segments[0]
        return np.concatenate([summary, f0_summary, [voiced / pitch_frames if pitch_frames else 0.0]])
    summary = _pool_summaries([(n, s) for n, s, *_ in segments])
    f0_summary = _pool_summaries([(v, f) for _, _, v, f, _, _ in segments])
    pitch_frames = sum(seg[4] for seg in segments)
    voiced = sum(seg[5] for seg in segments)
    return np.concatenate([summary, f0_summary, [voiced / pitch_frames if pitch_frames else 0.0]])


def _pool_summaries(parts: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Pool ``_summary`` vectors of disjoint frame sets weighted by frame count: exact mean and std,
    frame-weighted mean of the percentiles (an approximation: exact percentiles need every frame)."""
    import numpy as np

    width = parts[0][1].size
    parts = [(n, s) for n, s in parts if n > 0]
    if not parts:
        return np.zeros(width)
    counts = np.array([n for n, _ in parts], dtype=np.float64)
    stats = np.stack([s.reshape(-1, 2 + len(_PERCENTILES)) for _, s in parts])  # [S, F, 5]
    weights = counts[:, None] / counts.sum()
    mean = (weights * stats[:, :, 0]).sum(axis=0)
    variance = (weights * (stats[:, :, 1] ** 2 + (stats[:, :, 0] - mean) ** 2)).sum(axis=0)
    percentiles = (weights[:, :, None] * stats[:, :, 2:]).sum(axis=0)
    return np.concatenate([mean[:, None], np.sqrt(variance)[:, None], percentiles], axis=1).reshape(-1)
