"""Corpus checks every dataset gets, whatever plugin loaded it.

Duplicate utterance ids are refused before a run: results, transcripts and
embeddings are keyed by utterance id, so a duplicate silently overwrites one
utterance with another, and the same id in train and test leaks test data into
training. ``data info`` lists them as problems; ``run`` stops with one line.

Audio checks (``data info --check-audio``) find what decoding alone does not:
a file whose header promises more frames than the file holds (libsndfile
quietly clamps a short WAV, so its header is read here), and a clip with no
signal at all, on which Whisper tends to invent a sentence.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from erc_bench.core.errors import DataError
from erc_bench.core.interfaces import SPLITS, DatasetSplits, Problem

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

SILENCE_PEAK = 1e-4
"""Peak amplitude (full scale = 1.0) below which a clip is silent: -80 dBFS, under any recorder's noise floor."""

NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
"""Whisper's own defaults (``no_speech_threshold``, ``log_prob_threshold``): a window whose no-speech
probability is above the first while its tokens average below the second is, by Whisper's rule, silence."""


def duplicate_ids(data: DatasetSplits) -> list[Problem]:
    """One ``duplicate-id`` problem per utterance id that occurs more than once (in one split or across)."""
    seen: dict[str, list[str]] = defaultdict(list)
    for split in SPLITS:
        for utt in data.utterances(split):
            seen[utt.id].append(split)
    problems = []
    for utt_id, splits in seen.items():
        if len(splits) > 1:
            where = (f"{len(splits)} times in {splits[0]}" if len(set(splits)) == 1
                     else f"in {' and '.join(dict.fromkeys(splits))} ({len(splits)} times)")
            problems.append(Problem("duplicate-id", utt_id, where))
    return problems


def refuse_duplicate_ids(data: DatasetSplits) -> None:
    """Stop before any work when a dataset repeats an utterance id (a DataError, one line)."""
    problems = duplicate_ids(data)
    if problems:
        first = problems[0]
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DataError(f"dataset '{data.name}': utterance id '{first.item_id}' occurs {first.detail}{more}; "
                        f"ids must be unique across all splits (erc-bench data info {data.name} lists them)")


def _wav_declared_frames(path: Path) -> tuple[int, int] | None:
    """(frames the RIFF header declares, frames the file holds), or None when not a plain PCM WAV."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while chunk := fh.read(8):
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                fmt = fh.read(size + (size & 1))
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
            elif name == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                    return None
                available = path.stat().st_size - fh.tell()
                return size // block_align, max(available, 0) // block_align
            else:
                fh.seek(size + (size & 1), 1)
    return None


def _soundfile_frames(path: Path) -> tuple[int, int] | None:
    """(frames the header declares, frames that decode) for FLAC / OGG, read to the first error."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as handle:
            declared, decoded = handle.frames, 0
            while True:
                try:
                    block = handle.read(frames=4096, dtype="float32", always_2d=True)
                except sf.LibsndfileError:
                    break
                if not len(block):
                    break
                decoded += len(block)
            return declared, decoded
    except (sf.LibsndfileError, RuntimeError):
        return None


def truncation(path: str | Path) -> str | None:
    """Why a file is truncated (header promises more frames than it holds), or None."""
    p = Path(path)
    suffix = p.suffix.lower()
    frames = _wav_declared_frames(p) if suffix == ".wav" else _soundfile_frames(p) if suffix in (
        ".flac", ".ogg") else None
    if frames is None:
        return None
    declared, held = frames
    if held < declared:
        return f"truncated: the header declares {declared} frames, the file holds {held}"
    return None


def is_silent(samples: np.ndarray) -> bool:
    """No signal above -80 dBFS anywhere in the clip."""
    import numpy as np

    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


def no_speech(text: str, no_speech_prob: float | None, avg_logprob: float | None) -> bool:
    """A transcript with no words, or one Whisper's own rule marks as silence (it invents text on silence)."""
    if not text.strip():
        return True
    if no_speech_prob is None or avg_logprob is None:
        return False
    return no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD
