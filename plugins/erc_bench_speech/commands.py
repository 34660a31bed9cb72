"""The work behind ``erc-bench transcribe`` and ``erc-bench asr-eval``, importable and testable.

A target is either a dataset plugin name (params from ``--root`` / ``--param`` /
``--spec``, as ``erc-bench data info`` resolves them) or a plain folder of audio
files, each file becoming one utterance. The ASR comes from the spec's
``model.asr`` (else ``pretrain.asr``) slot, else faster-whisper; ``--model`` and
``--batch-size`` override its params. Transcripts go through
``transcribe_utterances``, so they are cached and shared with benchmark runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erc_bench import (
    AUDIO_SUFFIXES,
    SPLITS,
    AudioSource,
    Cache,
    DatasetSplits,
    Problem,
    Transcript,
    UserError,
    Utterance,
)


@dataclass
class Target:
    """What to transcribe: utterances with their split, and the dataset when there is one."""

    utterances: list[tuple[str, Utterance]]
    data: DatasetSplits | None = None
    problems: list[Problem] = field(default_factory=list)


def folder_utterances(folder: Path) -> list[tuple[str, Utterance]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) found")
    out = []
    for i, path in enumerate(files):
        uid = path.relative_to(folder).with_suffix("").as_posix()
        out.append(("(folder)", Utterance(uid, uid, i, "", None, audio=AudioSource(str(path)))))
    return out


def resolve_target(target: str, root: str | None = None, params: list[str] | None = None,
                   spec: str | None = None) -> Target:
    """A dataset plugin name (loaded with its params) or a folder of audio files."""
    from erc_bench import host

    folder = Path(target).expanduser()
    if target not in host().registries["dataset"].names():
        if folder.is_dir():
            return Target(folder_utterances(folder))
        if "/" in target or folder.exists():
            raise UserError(f"{target}: not a folder of audio files (and not a dataset plugin name)")
    from erc_bench import resolve_dataset_params as resolve_params

    cls, validated = resolve_params(target, root, params, spec)
    data = cls(validated).load()
    pairs = [(split, u) for split in SPLITS for u in data.utterances(split)]
    return Target(pairs, data, list(data.problems))


def build_asr(spec: str | None = None, model: str | None = None, batch_size: int | None = None) -> Any:
    """The spec's ASR slot (model.asr, else pretrain.asr) or faster-whisper, with CLI overrides."""
    from erc_bench import build

    plugin, values = "faster-whisper", {}
    if spec:
        from erc_bench import load_spec

        loaded = load_spec(spec).spec
        ref = loaded.model.asr or (loaded.pretrain.asr if loaded.pretrain else None)
        if ref is None:
            raise UserError(f"{spec}: has no model.asr or pretrain.asr slot")
        plugin, values = ref.plugin, dict(ref.params)
    if model is not None:
        values["model"] = model
    if batch_size is not None:
        values["batch_size"] = batch_size
    try:
        return build("asr", plugin, values)
    except ValueError as exc:  # pydantic validation of the params
        raise UserError(f"asr '{plugin}': {exc}") from None


def transcribe_target(target: Target, asr: Any, cache: Cache, progress: Any = None
                      ) -> tuple[dict[str, Transcript], list[Problem]]:
    from erc_bench import transcribe_utterances

    return transcribe_utterances(asr, [u for _, u in target.utterances], cache, progress)


def write_transcripts(out: Path, target: Target, transcripts: dict[str, Transcript], problems: list[Problem]) -> int:
    """JSON lines in corpus order; utterances that failed get a line with ``problem`` instead of text."""
    failed = {p.item_id: p for p in problems}
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out.open("w", encoding="utf-8") as fh:
        for split, utt in target.utterances:
            row: dict[str, Any] = {"id": utt.id, "split": split, "audio": utt.audio.path if utt.audio else None}
            found = transcripts.get(utt.id)
            if found is not None:
                row.update(text=found.text, avg_logprob=found.avg_logprob, no_speech_prob=found.no_speech_prob)
                written += 1
            elif utt.id in failed:
                row.update(problem=failed[utt.id].kind, detail=failed[utt.id].detail)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return written
