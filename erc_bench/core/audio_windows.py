"""Long recordings in windows: never in memory whole, with exactly the samples ``load_audio`` gives.

A 3-hour clip is 690 MB of float32, and featurising it in one piece took more
than 5 GiB. ``iter_audio`` yields a clip in windows and ``load_audio_span`` reads
one stretch of it, both giving exactly the samples ``load_audio`` would (16 kHz
files are read by seek; other rates are resampled per window with enough context
on each side that the polyphase filter sees what it would see on the whole
clip). ``audio_samples`` gives a clip's length in output samples from the
header, so callers can plan windows and crops before decoding anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import ceil, gcd
from pathlib import Path
from typing import TYPE_CHECKING

from erc_bench.core.audio import CONTAINER_SUFFIXES, AudioError, audio_duration, check_source, resample
from erc_bench.core.interfaces import SAMPLE_RATE, AudioSource

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


WINDOW_SAMPLES = 30 * SAMPLE_RATE  # what ``iter_audio`` yields at a time: 1.9 MB of float32


def _ratio(rate: int) -> tuple[int, int]:
    common = gcd(int(rate), SAMPLE_RATE)
    return SAMPLE_RATE // common, int(rate) // common


def _native_clip(handle: object, start: float | None, end: float | None) -> tuple[int, int]:
    """The clip's first and end frame at the file's own rate, exactly as ``_read_soundfile`` reads it."""
    rate, frames = handle.samplerate, handle.frames  # type: ignore[attr-defined]
    first = min(int(round((start or 0.0) * rate)), frames)
    last = frames if end is None else min(frames, max(first, int(round(end * rate))))
    return first, last


def _finite(samples: np.ndarray) -> np.ndarray:
    import numpy as np

    return samples if np.all(np.isfinite(samples)) else np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)


def _soundfile_span(path: Path, start: float | None, end: float | None, first: int, last: int | None,
                    window: int) -> Iterator[np.ndarray]:
    """Samples [first, last) of the clip at 16 kHz, in pieces of at most ``window`` samples.

    At 16 kHz the file is read by seek, so the pieces are the very samples ``load_audio`` returns.
    At other rates a piece's output start must fall on the input grid (a multiple of ``up`` output
    samples), and each piece is resampled with a margin of input on both sides wider than the
    polyphase filter's half-length, so its samples equal the whole-clip resampling's.
    """
    import numpy as np
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        c0, c1 = _native_clip(handle, start, end)
        up, down = _ratio(rate)
        total = -(-(c1 - c0) * up // down)
        last = total if last is None else min(last, total)
        if first >= last:
            return
        margin = 0 if up == down == 1 else down * ceil((10 * max(up, down) / up + 4) / down)
        step = max(up, window - window % up)
        position = first - first % up  # on the input grid
        while position < last:
            stop = min(position + step, total)
            a, b = position * down // up, min(c1 - c0, -(-stop * down // up))  # input frames, clip-relative
            lo, hi = max(0, a - margin), min(c1 - c0, b + margin)
            lo -= lo % down  # keep the piece's output grid aligned with the whole clip's
            handle.seek(c0 + lo)
            data = handle.read(frames=hi - lo, dtype="float32", always_2d=True)
            mono = np.ascontiguousarray(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])
            out = resample(mono, rate)
            offset = lo * up // down
            piece = out[position - offset:stop - offset]
            cut = piece[max(0, first - position):max(0, last - position)]
            if cut.size:
                yield _finite(cut)
            position = stop


def _container_pieces(path: Path, start: float | None, end: float | None) -> Iterator[np.ndarray]:
    """``_read_container`` as a stream: the clip's 16 kHz samples as PyAV decodes them (bounded memory)."""
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
        first_time: float | None = None
        decoded = 0
        lo: int = 0
        hi: int | None = None

        def trim(chunk: np.ndarray) -> np.ndarray:
            nonlocal decoded
            at, decoded = decoded, decoded + chunk.size
            begin, stop = max(0, lo - at), chunk.size if hi is None else max(0, min(chunk.size, hi - at))
            return chunk[begin:stop]

        for frame in container.decode(stream):
            if first_time is None:
                first_time = float(frame.time) if frame.time is not None else 0.0
                lo = max(0, int(round(((start or 0.0) - first_time) * SAMPLE_RATE)))
                hi = None if end is None else max(lo, int(round((end - first_time) * SAMPLE_RATE)))
            for out in resampler.resample(frame):
                yield trim(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
            if hi is not None and decoded >= hi:
                break
        if lo is not None:
            for out in resampler.resample(None):
                yield trim(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))


def _rewindow(pieces: Iterator[np.ndarray], first: int, last: int | None, window: int) -> Iterator[np.ndarray]:
    """Regroup a stream of pieces into windows of ``window`` samples covering [first, last)."""
    import numpy as np

    buffer: list[np.ndarray] = []
    held, at = 0, 0
    for piece in pieces:
        begin, stop = max(0, first - at), piece.size if last is None else max(0, min(piece.size, last - at))
        at += piece.size
        if begin < stop:
            buffer.append(piece[begin:stop])
            held += stop - begin
        while held >= window:
            joined = np.concatenate(buffer)
            yield _finite(joined[:window])
            buffer, held = [joined[window:]], held - window
        if last is not None and at >= last:
            break
    if held:
        yield _finite(np.concatenate(buffer))


def iter_audio(source: AudioSource, window: int = WINDOW_SAMPLES, first: int = 0,
               last: int | None = None) -> Iterator[np.ndarray]:
    """The clip ``load_audio`` would return, samples [first, last), as windows of at most ``window`` samples.

    Memory stays at about one window whatever the clip's length. Raises ``AudioError`` like ``load_audio``
    (a clip with no samples at all raises before anything is yielded).
    """
    path = check_source(source)
    produced = False
    try:
        if path.suffix.lower() not in CONTAINER_SUFFIXES:
            try:
                pieces = _soundfile_span(path, source.start, source.end, first, last, window)
                head = next(pieces, None)
            except Exception:  # noqa: BLE001 - libsndfile refused it; PyAV reads more formats
                head, pieces = None, None
            if pieces is not None:
                if head is not None:
                    produced = True
                    yield head
                    yield from pieces
                elif first == 0:
                    raise AudioError(source.path, "no audio samples (zero-length audio or clip outside the file)")
                return
        for chunk in _rewindow(_container_pieces(path, source.start, source.end), first, last, window):
            produced = True
            yield chunk
    except AudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's problem
        raise AudioError(source.path, f"cannot decode audio ({type(exc).__name__}: {exc})") from None
    if not produced and first == 0:
        raise AudioError(source.path, "no audio samples (zero-length audio or clip outside the file)")


def load_audio_span(source: AudioSource, first: int, last: int) -> np.ndarray:
    """Samples [first, last) of what ``load_audio(source)`` returns, decoding only that stretch where the
    format can seek (wav, flac, ...; video containers are decoded from the clip's start, in windows)."""
    import numpy as np

    pieces = list(iter_audio(source, first=first, last=last))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def audio_samples(source: AudioSource) -> int:
    """Length in 16 kHz samples of what ``load_audio(source)`` returns, from the header; 0 if unknown.

    Exact for formats soundfile reads (the same frame arithmetic as the decoder); video containers
    report their container duration, which can be off by a frame or two.
    """
    path = Path(source.path)
    try:
        if path.suffix.lower() not in CONTAINER_SUFFIXES:
            import soundfile as sf

            with sf.SoundFile(str(path)) as handle:
                c0, c1 = _native_clip(handle, source.start, source.end)
                up, down = _ratio(handle.samplerate)
                return -(-(c1 - c0) * up // down)
    except Exception:  # noqa: BLE001 - not a soundfile format: fall back to the duration
        pass
    return int(round(audio_duration(source) * SAMPLE_RATE))
