"""Transcripts and speech embeddings for a list of utterances, cached and streamed.

The recipe calls ``transcribe_utterances`` and ``embed_utterances``. Both:

* key every result by (component identity, audio content digest: the file's
  SHA-256 plus the clip offsets), so a rerun, or another spec sharing the same
  component, computes nothing;
* stream: only one chunk of decoded audio is in memory at a time, never a corpus;
* sort pending utterances by duration (from file headers, without decoding), so
  batches hold similar lengths and padding waste is small;
* turn bad input into counted ``Problem`` records: ``missing-audio`` (the
  utterance has no audio), ``unreadable-audio`` (missing / empty / undecodable
  / zero-length file, detail = the path and reason) and ``long-audio`` (over the
  corpus's ``max_seconds`` with ``long_audio = "skip"``); those utterances are
  absent from the returned dict, never silently;
* keep memory bounded for any clip length (``erc_bench.features.long_audio``): a long
  clip is decoded in windows or only the span its encoder uses, and the corpus's
  ``AudioPolicy`` (crop / skip / chunk over ``max_seconds``) applies.

``progress`` is either a rich ``Progress`` (a task named after the component is
added and advanced, as the recipe does) or a plain callback ``progress(done,
total)`` called once at the start and after every chunk (a log line, a test
counter); ``erc_bench.core.progress.rich_progress`` gives a standalone bar with ETA as such a callback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from erc_bench.core.audio import AudioError, audio_duration, source_digest
from erc_bench.core.audio_windows import audio_samples
from erc_bench.core.cache import Cache, canonical_json
from erc_bench.core.capabilities import Batched
from erc_bench.core.execution import ExecutionSection
from erc_bench.core.interfaces import ASR, Problem, SpeechEncoder, Transcript, Utterance
from erc_bench.core.plugin_host import identity_of
from erc_bench.core.progress import as_callback
from erc_bench.features.long_audio import (
    LONG_AUDIO,
    NO_POLICY,
    AudioPolicy,
    LongAudioSkipped,
    encode_sources,
    transcribe_sources,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

ProgressLike = Any  # rich.progress.Progress or ProgressCallback
RowObserver = Callable[[list[dict[str, Any]]], None]  # Ray rows as they arrive: index, status, node, pid
# (the Ray pipeline imports this alias; it must not import the pipeline, which imports Ray's bits lazily)
TRANSCRIPT_NAMESPACE = "transcripts"
EMBEDDING_NAMESPACE = "speech-embeddings"
_MIN_CHUNK = 16


def _chunk_size(component: Any) -> int:
    """Utterances decoded at once: the component's own batch size, at least 16."""
    size = component.batch_size if isinstance(component, Batched) else None
    return max(_MIN_CHUNK, size if isinstance(size, int) else 1)


def _plan(utterances: Sequence[Utterance], namespace: str, component: Any, lookup: Callable[[str], Any],
          results: dict[str, Any], problems: list[Problem], policy: AudioPolicy = NO_POLICY
          ) -> list[tuple[Utterance, str]]:
    """Fill ``results`` from the cache; return (utterance, key) still to compute, shortest first.

    A clip the policy changes (longer than ``max_seconds``) has the policy in its key; every other key is
    the one it had before policies existed, so setting one invalidates nothing else.
    """
    fingerprint = canonical_json(identity_of(component))  # plugin, params, code (and its own fingerprint)
    pending: list[tuple[float, int, Utterance, str]] = []
    for order, utt in enumerate(utterances):
        if utt.audio is None:
            problems.append(Problem("missing-audio", utt.id, "utterance has no audio"))
            continue
        try:
            digest = source_digest(utt.audio)
        except AudioError as exc:
            problems.append(Problem("unreadable-audio", utt.id, str(exc)))
            continue
        if policy.limit is not None:
            digest = policy.key_digest(digest, audio_samples(utt.audio))
        key = Cache.key(namespace, component.name, fingerprint, digest)
        hit = lookup(key)
        if hit is not None:
            results[utt.id] = hit
        else:
            pending.append((audio_duration(utt.audio), order, utt, key))
    pending.sort(key=lambda item: (item[0], item[1]))
    return [(utt, key) for _, _, utt, key in pending]


def _local_chunks(chunks: list[list[tuple[Utterance, str]]], cache: Cache, transcribing: bool, component: Any,
                  policy: AudioPolicy) -> Iterator[tuple[list[tuple[Utterance, str, Any]], list[Problem], int]]:
    """The local engine: decode and compute one chunk at a time in this process (long clips in windows)."""
    for chunk in chunks:
        problems: list[Problem] = []
        finished: list[tuple[Utterance, str, Any]] = []
        sources = [utt.audio for utt, _ in chunk]
        work = transcribe_sources if transcribing else encode_sources
        for index, out in work(component, sources, policy, cache):  # type: ignore[arg-type]
            utt, key = chunk[index]
            if isinstance(out, AudioError):
                problems.append(audio_problem(utt.id, out))
            else:
                finished.append((utt, key, out))
        yield finished, problems, len(chunk)


def audio_problem(item_id: str, error: AudioError) -> Problem:
    """``long-audio`` for a clip skipped by the policy, ``unreadable-audio`` otherwise; detail names the file."""
    return Problem(LONG_AUDIO if isinstance(error, LongAudioSkipped) else "unreadable-audio", item_id, str(error))


def _run(utterances: Sequence[Utterance], cache: Cache, component: Any, namespace: str,
         lookup: Callable[[str], Any], store: Callable[[str, Any, Utterance], None], progress: ProgressLike | None,
         execution: ExecutionSection | None = None, observe: RowObserver | None = None,
         policy: AudioPolicy | None = None) -> tuple[dict[str, Any], list[Problem]]:
    verb = "transcribing" if namespace == TRANSCRIPT_NAMESPACE else "embedding speech"
    progress = as_callback(progress, f"{verb} ({component.name})")
    results: dict[str, Any] = {}
    problems: list[Problem] = []
    policy = policy or NO_POLICY
    pending = _plan(utterances, namespace, component, lookup, results, problems, policy)
    total, done = len(pending), 0
    if progress:
        progress(0, total)
    size = _chunk_size(component)
    # Same chunks on either engine, so the same batches reach the model and the outputs agree.
    chunks = [pending[start:start + size] for start in range(0, total, size)]
    if execution is not None and execution.engine == "ray":
        from erc_bench.features.ray_pipeline import stream_chunks

        kind = "asr" if namespace == TRANSCRIPT_NAMESPACE else "speech_encoder"
        stream = stream_chunks(kind, component, chunks, execution, observe, policy)
    else:
        stream = _local_chunks(chunks, cache, namespace == TRANSCRIPT_NAMESPACE, component, policy)
    for finished, chunk_problems, count in stream:
        for utt, key, out in finished:  # cached as each chunk arrives: a killed run resumes from here
            store(key, out, utt)
            results[utt.id] = out
        problems += chunk_problems
        done += count
        if progress:
            progress(done, total)
    return results, problems


def transcribe_utterances(asr: ASR, utterances: Sequence[Utterance], cache: Cache,
                          progress: ProgressLike | None = None, execution: ExecutionSection | None = None,
                          observe: RowObserver | None = None, policy: AudioPolicy | None = None
                          ) -> tuple[dict[str, Transcript], list[Problem]]:
    """Transcript per utterance id (cached per ASR fingerprint + audio digest) and the audio problems met;
    ``execution`` with ``engine = "ray"`` computes the missing ones on a Ray cluster (same keys); ``observe``
    then sees each row as it arrives (node id, worker pid); ``policy``: the corpus's long-audio policy."""

    def lookup(key: str) -> Transcript | None:
        value = cache.get_json(TRANSCRIPT_NAMESPACE, key)
        return None if value is None else Transcript(**value)

    def store(key: str, transcript: Transcript, utt: Utterance) -> None:
        cache.put_json(TRANSCRIPT_NAMESPACE, key, asdict(transcript), meta={"utterance": utt.id})

    return _run(utterances, cache, asr, TRANSCRIPT_NAMESPACE, lookup, store, progress, execution, observe, policy)


def embed_utterances(encoder: SpeechEncoder, utterances: Sequence[Utterance], cache: Cache,
                     progress: ProgressLike | None = None, execution: ExecutionSection | None = None,
                     observe: RowObserver | None = None, policy: AudioPolicy | None = None
                     ) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Frozen embedding per utterance id, (D,) or (layers, D), and the audio problems met; ``policy``: the
    corpus's long-audio policy (``max_seconds``, ``long_audio``)."""

    def lookup(key: str) -> np.ndarray | None:
        return cache.get_array(EMBEDDING_NAMESPACE, key)

    def store(key: str, vector: np.ndarray, utt: Utterance) -> None:
        cache.put_array(EMBEDDING_NAMESPACE, key, vector, meta={"utterance": utt.id})

    return _run(utterances, cache, encoder, EMBEDDING_NAMESPACE, lookup, store, progress, execution, observe, policy)


def speech_problem_summary(problems: Sequence[Problem]) -> str:
    """One line such as ``2 unreadable-audio, 1 missing-audio`` ('no audio problems' when none)."""
    counts = Counter(p.kind for p in problems)
    if not counts:
        return "no audio problems"
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
