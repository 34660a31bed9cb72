"""One audio decoding path for every plugin: any file in, 16 kHz mono float32 out.

Plain audio (wav, flac, mp3, ogg) is read with soundfile, which can seek, so an
utterance inside a long recording (``AudioSource.start``/``end``) is read
without decoding the rest. Video containers (MELD's mp4 clips, mkv, m4a) go
through PyAV, whose resampler also converts to 16 kHz mono; decoding those is
slow, so callers may pass a ``Cache`` and the decoded samples are stored under
the file's content digest. Every failure (missing, empty, undecodable,
zero-length) raises ``AudioError`` naming the path, which callers turn into a
counted ``Problem`` instead of a traceback.

Long recordings never need to be in memory whole: ``audio_windows`` decodes a
clip in windows, or one stretch of it, with exactly these samples.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING

from erc_bench.core.cache import Cache, digest_file, digest_text
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import SAMPLE_RATE, AudioSource

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

CONTAINER_SUFFIXES = frozenset({".mp4", ".mkv", ".m4a", ".mov", ".avi", ".webm", ".aac", ".wma"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".aiff", ".aif"}) | CONTAINER_SUFFIXES
_DECODE_NAMESPACE = "decoded-audio"


class AudioError(UserError):
    """Audio that cannot be used: missing, empty, undecodable or without samples."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def check_source(source: AudioSource) -> Path:
    path = Path(source.path)
    if not path.is_file():
        raise AudioError(source.path, "audio file not found")
    if path.stat().st_size == 0:
        raise AudioError(source.path, "audio file is empty (0 bytes)")
    start, end = source.start, source.end
    if start is not None and start < 0:
        raise AudioError(source.path, f"negative start offset {start}")
    if start is not None and end is not None and end <= start:
        raise AudioError(source.path, f"end offset {end} is not after start offset {start}")
    return path


def source_digest(source: AudioSource) -> str:
    """Content digest of the audio a source denotes: file bytes plus clip offsets."""
    path = check_source(source)
    return digest_text(f"{digest_file(path)}|{source.start}|{source.end}")


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (scipy), exact for the integer ratios speech corpora use."""
    import numpy as np

    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    common = gcd(int(rate), int(target))
    return resample_poly(samples, target // common, int(rate) // common).astype(np.float32)


def _read_soundfile(path: Path, start: float | None, end: float | None) -> np.ndarray:
    import numpy as np
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        first = int(round((start or 0.0) * rate))
        if first:
            handle.seek(min(first, handle.frames))
        count = -1 if end is None else max(0, int(round(end * rate)) - first)
        data = handle.read(frames=count, dtype="float32", always_2d=True)
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return resample(np.ascontiguousarray(mono), rate)


def _read_container(path: Path, start: float | None, end: float | None) -> np.ndarray:
    """Decode the first audio stream with PyAV, resampled to 16 kHz mono on the way."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise AudioError(str(path), "no audio stream in the file")
        stream = streams[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        if start:
            container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        for frame in container.decode(stream):
            if first_time is None:
                first_time = float(frame.time) if frame.time is not None else 0.0
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
            decoded_until = first_time + sum(c.size for c in chunks) / SAMPLE_RATE
            if end is not None and decoded_until >= end:
                break
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    offset = first_time or 0.0
    lo = max(0, int(round(((start or 0.0) - offset) * SAMPLE_RATE)))
    hi = None if end is None else max(lo, int(round((end - offset) * SAMPLE_RATE)))
    return samples[lo:hi].astype(np.float32, copy=False)


def _decode(path: Path, source: AudioSource) -> np.ndarray:
    if path.suffix.lower() not in CONTAINER_SUFFIXES:
        try:
            return _read_soundfile(path, source.start, source.end)
        except AudioError:
            raise
        except Exception:  # noqa: BLE001 - libsndfile refused it; PyAV reads more formats
            pass
    try:
        return _read_container(path, source.start, source.end)
    except AudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's problem
        raise AudioError(source.path, f"cannot decode audio ({type(exc).__name__}: {exc})") from None


def load_audio(source: AudioSource, cache: Cache | None = None) -> np.ndarray:
    """Decode ``source`` to 16 kHz mono float32, honouring its start/end offsets.

    Raises ``AudioError`` (a ``UserError``) naming the path for a missing, empty,
    undecodable or zero-length clip. With ``cache``, decoded video-container
    audio is stored content-addressed, since decoding mp4 is the slow part.
    """
    import numpy as np

    path = check_source(source)
    use_cache = cache is not None and path.suffix.lower() in CONTAINER_SUFFIXES
    key = ""
    if use_cache:
        key = Cache.key(_DECODE_NAMESPACE, "pyav", {"rate": SAMPLE_RATE, "start": source.start, "end": source.end},
                        digest_file(path))
        assert cache is not None  # use_cache says so
        cached = cache.get_array(_DECODE_NAMESPACE, key)
        if cached is not None:
            return cached.astype(np.float32, copy=False)
    samples = _decode(path, source)
    if samples.size == 0:
        raise AudioError(source.path, "no audio samples (zero-length audio or clip outside the file)")
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    if use_cache and cache is not None:
        cache.put_array(_DECODE_NAMESPACE, key, samples, meta={"path": source.path})
    return samples


def audio_duration(source: AudioSource) -> float:
    """Seconds of audio a source denotes, read from the header (no decoding); 0.0 if unknown.

    Used to sort utterances by length before batching without holding audio in memory.
    """
    if source.start is not None and source.end is not None:
        return float(source.end - source.start)
    path = Path(source.path)
    total = 0.0
    try:
        if path.suffix.lower() not in CONTAINER_SUFFIXES:
            import soundfile as sf

            total = float(sf.info(str(path)).duration)
        else:
            import av

            with av.open(str(path)) as container:
                total = float(container.duration or 0) / 1_000_000
    except Exception:  # noqa: BLE001 - unreadable files are reported when decoded
        return 0.0
    return max(0.0, total - (source.start or 0.0)) if source.end is None else float(source.end - (source.start or 0))
