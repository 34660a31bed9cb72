"""Speech features for clips of any length in bounded memory, and the per-corpus ``max_seconds`` policy.

A clip is never decoded whole once it is longer than ``STREAM_ABOVE`` (60 s): a
3-hour recording is 690 MB of float32 before any encoder touches it, and was
the cause of out-of-memory kills. What is decoded instead depends on the encoder:

* an encoder that ``ReadsSpan`` (whisper-encoder: its centre 30 s; hf-ssl and care:
  their centre ``max_seconds``; care's "authors" rule: its 5-s crop) gets only
  that span, read by seek: the same samples it would have cropped itself;
* an encoder that ``StreamsAudio`` (acoustic-stats) gets the clip as 30-s windows;
* any other encoder gets the clip whole (its own business; plugins can adopt either
  capability).

On top of that, a corpus may set ``max_seconds`` and ``long_audio`` in its spec
``[[datasets]]`` entry (``AudioPolicy``) for clips longer than ``max_seconds``:

* ``skip`` (the default once ``max_seconds`` is set): not featurised, reported as a
  ``long-audio`` problem naming the file and its length, like unreadable audio;
* ``crop``: only the centre ``max_seconds`` is used;
* ``chunk``: the clip is cut into ``max_seconds`` windows, each encoded as its own
  clip, and the embeddings averaged weighted by window length (for a streaming
  encoder the clip is streamed whole instead: its statistics pool the windows exactly).

The policy is part of the cache key only of the clips it changes (those over the
limit), so setting it keeps every other cached embedding valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from erc_bench.core.audio import AudioError, load_audio
from erc_bench.core.audio_windows import audio_samples, iter_audio, load_audio_span
from erc_bench.core.cache import Cache, canonical_json, digest_text
from erc_bench.core.capabilities import ReadsSpan, StreamsAudio
from erc_bench.core.interfaces import SAMPLE_RATE, AudioSource

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

STREAM_ABOVE = 60 * SAMPLE_RATE  # longer clips are never decoded whole for an encoder that can avoid it
LONG_AUDIO = "long-audio"  # the Problem kind of a clip skipped by the policy
LongAudio = Literal["skip", "crop", "chunk"]


@dataclass(frozen=True)
class AudioPolicy:
    """What to do with clips longer than ``max_seconds`` (None: no limit, each encoder's own handling)."""

    max_seconds: float | None = None
    long_audio: LongAudio = "skip"

    @property
    def limit(self) -> int | None:
        return None if self.max_seconds is None else int(self.max_seconds * SAMPLE_RATE)

    def over(self, samples: int) -> bool:
        return self.limit is not None and samples > self.limit

    def key_digest(self, digest: str, samples: int) -> str:
        """The audio digest a cache key uses: unchanged unless the policy changes this clip."""
        if not self.over(samples):
            return digest
        return digest_text(f"{digest}|{canonical_json(self.as_json())}")

    def as_json(self) -> dict[str, Any]:
        return {"max_seconds": self.max_seconds, "long_audio": self.long_audio}


NO_POLICY = AudioPolicy()


class LongAudioSkipped(AudioError):
    """A clip over ``max_seconds`` under ``long_audio = "skip"``: reported as ``long-audio``."""


def _span(encoder: Any, source: AudioSource, first: int, last: int) -> tuple[int, int]:
    """The stretch of [first, last) the encoder uses (all of it unless it ``ReadsSpan``)."""
    if not isinstance(encoder, ReadsSpan):
        return first, last

    def head(n: int) -> np.ndarray:
        return load_audio_span(source, first, min(last, first + n))

    span = encoder.input_span(last - first, head)
    if span is None:
        return first, last
    return first + max(0, span[0]), first + min(last - first, span[1])


def _decode(source: AudioSource, first: int, last: int, total: int, cache: Cache | None) -> np.ndarray:
    if first == 0 and last >= total:
        return load_audio(source, cache=cache)  # the whole clip: the usual path (and the container cache)
    return load_audio_span(source, first, last)


def _one(encoder: Any, source: AudioSource, first: int, last: int, total: int, cache: Cache | None,
         short: Callable[[np.ndarray], None]) -> np.ndarray | None:
    """Encode [first, last) of a clip now if it is long; hand short clips to ``short`` for batching."""
    first, last = _span(encoder, source, first, last)
    if last - first > STREAM_ABOVE and isinstance(encoder, StreamsAudio):
        return encoder.encode_stream(iter_audio(source, first=first, last=last))
    wave = _decode(source, first, last, total, cache)
    if last - first > STREAM_ABOVE or (first, last) != (0, total):
        return encoder.encode([wave])[0]  # one long clip (or a span of one) at a time
    short(wave)
    return None


def _chunked(encoder: Any, source: AudioSource, total: int, limit: int, cache: Cache | None) -> np.ndarray:
    """Windows of ``limit`` samples encoded one at a time and averaged weighted by their length."""
    import numpy as np

    if isinstance(encoder, StreamsAudio):
        return encoder.encode_stream(iter_audio(source))
    pooled: np.ndarray | None = None
    for first in range(0, total, limit):
        last = min(total, first + limit)
        lo, hi = _span(encoder, source, first, last)
        vector = np.asarray(encoder.encode([load_audio_span(source, lo, hi)])[0], dtype=np.float64)
        pooled = vector * (last - first) if pooled is None else pooled + vector * (last - first)
    assert pooled is not None
    return (pooled / total).astype(np.float32)


def encode_sources(encoder: Any, sources: Sequence[AudioSource], policy: AudioPolicy = NO_POLICY,
                   cache: Cache | None = None) -> Iterator[tuple[int, np.ndarray | AudioError]]:
    """(index, embedding or the ``AudioError`` that stopped it) for every source, in bounded memory.

    Short clips are decoded whole and encoded together in one ``encode`` call (as before: the same
    batches); long ones one at a time as the module docstring says. ``LongAudioSkipped`` marks a skip.
    """
    waves: list[np.ndarray] = []
    batched: list[int] = []
    for index, source in enumerate(sources):
        try:
            total = audio_samples(source)
            limit = policy.limit
            if limit is not None and total > limit:
                if policy.long_audio == "skip":
                    yield index, LongAudioSkipped(source.path, f"{total / SAMPLE_RATE:.0f} s is longer than "
                                                  f"max_seconds = {policy.max_seconds:g} (long_audio = 'skip')")
                    continue
                if policy.long_audio == "chunk":
                    yield index, _chunked(encoder, source, total, limit, cache)
                    continue
                start = (total - limit) // 2
                out = _one(encoder, source, start, start + limit, total, cache, waves.append)
            else:
                out = _one(encoder, source, 0, total, total, cache, waves.append) if total else None
                if not total:  # unknown length (an odd container): decode it whole as before
                    waves.append(load_audio(source, cache=cache))
        except AudioError as exc:
            yield index, exc
            continue
        if out is None:
            batched.append(index)
        else:
            yield index, out
    if waves:
        outputs = list(encoder.encode(waves))
        if len(outputs) != len(waves):
            raise RuntimeError(f"{encoder.name} returned {len(outputs)} results for {len(waves)} inputs")
        yield from zip(batched, outputs, strict=True)


def transcribe_sources(asr: Any, sources: Sequence[AudioSource], policy: AudioPolicy = NO_POLICY,
                       cache: Cache | None = None) -> Iterator[tuple[int, Any]]:
    """ASR under the policy: ``skip`` and ``crop`` as for encoders; ``chunk`` (and no policy) decode the
    clip whole, since Whisper transcribes long audio in its own 30-s windows."""
    waves: list[np.ndarray] = []
    kept: list[int] = []
    for index, source in enumerate(sources):
        try:
            limit = policy.limit
            total = audio_samples(source) if limit is not None else 0
            if limit is not None and total > limit and policy.long_audio != "chunk":
                if policy.long_audio == "skip":
                    yield index, LongAudioSkipped(source.path, f"{total / SAMPLE_RATE:.0f} s is longer than "
                                                  f"max_seconds = {policy.max_seconds:g} (long_audio = 'skip')")
                    continue
                start = (total - limit) // 2
                waves.append(load_audio_span(source, start, start + limit))
            else:
                waves.append(load_audio(source, cache=cache))
        except AudioError as exc:
            yield index, exc
            continue
        kept.append(index)
    if waves:
        outputs = list(asr.transcribe(waves))
        if len(outputs) != len(waves):
            raise RuntimeError(f"{asr.name} returned {len(outputs)} results for {len(waves)} inputs")
        yield from zip(kept, outputs, strict=True)
