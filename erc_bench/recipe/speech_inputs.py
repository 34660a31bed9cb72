"""Transcripts and speech embeddings for a list of utterances, cached and streamed.

The recipe calls ``transcribe_utterances`` and ``embed_utterances``. Both:

* key every result by (component identity, audio content digest: the file's
  SHA-256 plus the clip offsets), so a rerun, or another spec sharing the same
  component, computes nothing;
* stream: only one chunk of decoded audio is in memory at a time, never a corpus;
* sort pending utterances by duration (from file headers, without decoding), so
  batches hold similar lengths and padding waste is small;
* turn bad input into counted ``Problem`` records: ``missing-audio`` (the
  utterance has no audio) and ``unreadable-audio`` (missing / empty / undecodable
  / zero-length file, detail = the path and reason); those utterances are absent
  from the returned dict, never silently.

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

from erc_bench.core.audio import AudioError, audio_duration, load_audio, source_digest
from erc_bench.core.cache import Cache, canonical_json
from erc_bench.core.capabilities import Batched
from erc_bench.core.execution import ExecutionSection
from erc_bench.core.interfaces import ASR, Problem, SpeechEncoder, Transcript, Utterance
from erc_bench.core.plugin_host import identity_of
from erc_bench.core.progress import as_callback

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
          results: dict[str, Any], problems: list[Problem]) -> list[tuple[Utterance, str]]:
    """Fill ``results`` from the cache; return (utterance, key) still to compute, shortest first."""
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
        key = Cache.key(namespace, component.name, fingerprint, digest)
        hit = lookup(key)
        if hit is not None:
            results[utt.id] = hit
        else:
            pending.append((audio_duration(utt.audio), order, utt, key))
    pending.sort(key=lambda item: (item[0], item[1]))
    return [(utt, key) for _, _, utt, key in pending]


def _decode_chunk(chunk: list[tuple[Utterance, str]], cache: Cache,
                  problems: list[Problem]) -> tuple[list[tuple[Utterance, str]], list[np.ndarray]]:
    kept, waves = [], []
    for utt, key in chunk:
        assert utt.audio is not None
        try:
            waves.append(load_audio(utt.audio, cache=cache))
        except AudioError as exc:
            problems.append(Problem("unreadable-audio", utt.id, str(exc)))
            continue
        kept.append((utt, key))
    return kept, waves


def _local_chunks(chunks: list[list[tuple[Utterance, str]]], cache: Cache,
                  compute: Callable[[list[np.ndarray]], list[Any]], name: str
                  ) -> Iterator[tuple[list[tuple[Utterance, str, Any]], list[Problem], int]]:
    """The local engine: decode and compute one chunk at a time in this process."""
    for chunk in chunks:
        problems: list[Problem] = []
        kept, waves = _decode_chunk(chunk, cache, problems)
        outputs = compute(waves) if waves else []
        if len(outputs) != len(kept):
            raise RuntimeError(f"{name} returned {len(outputs)} results for {len(kept)} inputs")
        yield [(utt, key, out) for (utt, key), out in zip(kept, outputs, strict=True)], problems, len(chunk)


def _run(utterances: Sequence[Utterance], cache: Cache, component: Any, namespace: str,
         lookup: Callable[[str], Any], compute: Callable[[list[np.ndarray]], list[Any]],
         store: Callable[[str, Any, Utterance], None], progress: ProgressLike | None,
         execution: ExecutionSection | None = None, observe: RowObserver | None = None
         ) -> tuple[dict[str, Any], list[Problem]]:
    verb = "transcribing" if namespace == TRANSCRIPT_NAMESPACE else "embedding speech"
    progress = as_callback(progress, f"{verb} ({component.name})")
    results: dict[str, Any] = {}
    problems: list[Problem] = []
    pending = _plan(utterances, namespace, component, lookup, results, problems)
    total, done = len(pending), 0
    if progress:
        progress(0, total)
    size = _chunk_size(component)
    # Same chunks on either engine, so the same batches reach the model and the outputs agree.
    chunks = [pending[start:start + size] for start in range(0, total, size)]
    if execution is not None and execution.engine == "ray":
        from erc_bench.recipe.ray_pipeline import stream_chunks

        kind = "asr" if namespace == TRANSCRIPT_NAMESPACE else "speech_encoder"
        stream = stream_chunks(kind, component, chunks, execution, observe)
    else:
        stream = _local_chunks(chunks, cache, compute, component.name)
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
                          observe: RowObserver | None = None) -> tuple[dict[str, Transcript], list[Problem]]:
    """Transcript per utterance id (cached per ASR fingerprint + audio digest) and the audio problems met;
    ``execution`` with ``engine = "ray"`` computes the missing ones on a Ray cluster (same keys); ``observe``
    then sees each row as it arrives (node id, worker pid)."""

    def lookup(key: str) -> Transcript | None:
        value = cache.get_json(TRANSCRIPT_NAMESPACE, key)
        return None if value is None else Transcript(**value)

    def store(key: str, transcript: Transcript, utt: Utterance) -> None:
        cache.put_json(TRANSCRIPT_NAMESPACE, key, asdict(transcript), meta={"utterance": utt.id})

    return _run(utterances, cache, asr, TRANSCRIPT_NAMESPACE, lookup, lambda w: list(asr.transcribe(w)), store,
                progress, execution, observe)


def embed_utterances(encoder: SpeechEncoder, utterances: Sequence[Utterance], cache: Cache,
                     progress: ProgressLike | None = None, execution: ExecutionSection | None = None,
                     observe: RowObserver | None = None) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Frozen embedding per utterance id, (D,) or (layers, D), and the audio problems met."""

    def lookup(key: str) -> np.ndarray | None:
        return cache.get_array(EMBEDDING_NAMESPACE, key)

    def store(key: str, vector: np.ndarray, utt: Utterance) -> None:
        cache.put_array(EMBEDDING_NAMESPACE, key, vector, meta={"utterance": utt.id})

    return _run(utterances, cache, encoder, EMBEDDING_NAMESPACE, lookup, encoder.encode, store, progress, execution,
                observe)


def speech_problem_summary(problems: Sequence[Problem]) -> str:
    """One line such as ``2 unreadable-audio, 1 missing-audio`` ('no audio problems' when none)."""
    counts = Counter(p.kind for p in problems)
    if not counts:
        return "no audio problems"
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
