"""What a dataset plugin delivers: counts per split and label, and every problem found.

``erc-bench data info`` is the first thing to run on a new corpus: it shows whether
the layout was understood (counts match the published ones) and lists defects
(missing clips, empty text, unknown labels, duplicate utterance ids) instead of
letting them vanish.
``--check-audio`` additionally decodes each utterance's audio (``erc_bench.core.audio_windows.iter_audio``,
30-s windows, so a 3-hour clip costs the memory of one window) and reports unreadable,
truncated and silent files (slow on video clips).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
from pydantic import ValidationError

from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import SPLITS, DatasetSplits, Problem

UNLABELLED = "(none)"


@dataclass
class SplitCounts:
    conversations: int = 0
    utterances: int = 0
    with_audio: int = 0
    speakers: int = 0


@dataclass
class DatasetReport:
    """Counts and problems of one loaded dataset; plain data, rendered by ``render_report``."""

    name: str
    labels: list[str]
    splits: dict[str, SplitCounts]
    label_counts: dict[str, dict[str, int]]
    problems: list[Problem] = field(default_factory=list)
    audio_checked: bool = False

    @property
    def problem_counts(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems))

    @property
    def total_utterances(self) -> int:
        return sum(c.utterances for c in self.splits.values())


def probe_audio(data: DatasetSplits, on_item: Callable[[], None] | None = None) -> list[Problem]:
    """Decode every utterance's audio: ``unreadable-audio``, ``truncated-audio`` and ``silent-audio`` problems."""
    from erc_bench.core.audio import AudioError
    from erc_bench.core.audio_windows import iter_audio
    from erc_bench.core.data_checks import is_silent, truncation

    problems = []
    for split in SPLITS:
        for utt in data.utterances(split):
            if utt.audio is not None:
                try:
                    silent = True  # every window is decoded: damage late in a file is found too
                    for window in iter_audio(utt.audio):
                        silent = silent and is_silent(window)
                except AudioError as exc:
                    problems.append(Problem("unreadable-audio", utt.id, exc.reason))
                else:
                    if (reason := truncation(utt.audio.path)) is not None:
                        problems.append(Problem("truncated-audio", utt.id, reason))
                    if silent:
                        problems.append(Problem("silent-audio", utt.id, "no signal above -80 dBFS"))
            if on_item is not None:
                on_item()
    return problems


def summarise(data: DatasetSplits, check_audio: bool = False,
              on_item: Callable[[], None] | None = None) -> DatasetReport:
    """Per-split and per-label counts plus the dataset's problems (and audio probes if asked)."""
    splits: dict[str, SplitCounts] = {}
    label_counts: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        utterances = data.utterances(split)
        splits[split] = SplitCounts(
            conversations=len(data.splits.get(split, [])), utterances=len(utterances),
            with_audio=sum(u.audio is not None for u in utterances),
            speakers=len({u.speaker for u in utterances if u.speaker}),
        )
        counts = Counter(u.label if u.label is not None else UNLABELLED for u in utterances)
        ordered = [lab for lab in data.labels if lab in counts] + sorted(set(counts) - set(data.labels))
        label_counts[split] = {lab: counts[lab] for lab in ordered}
    from erc_bench.core.data_checks import duplicate_ids

    problems = list(data.problems) + duplicate_ids(data)
    if check_audio:
        problems.extend(probe_audio(data, on_item))
    return DatasetReport(data.name, list(data.labels), splits, label_counts, problems, check_audio)


def parse_param(assignment: str) -> tuple[str, Any]:
    """``key=value`` with a TOML value (``classes=6``, ``labels=["a","b"]``), else a plain string."""
    if "=" not in assignment:
        raise UserError(f"--param expects key=value, got '{assignment}'")
    key, text = (part.strip() for part in assignment.split("=", 1))
    try:
        return key, tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return key, text


def _params_from_spec(spec_path: str, name: str) -> dict[str, Any]:
    """The params of the first spec slot (datasets or pretrain.corpus) that uses dataset ``name``."""
    from erc_bench.core.spec import component_slots, load_spec

    loaded = load_spec(spec_path)
    for _, kind, plugin, params in component_slots(loaded.spec):
        if kind == "dataset" and plugin == name:
            return dict(params)
    raise UserError(f"{spec_path}: no dataset slot uses '{name}'")


def resolve_params(name: str, root: str | None = None, params: list[str] | None = None,
                   spec: str | None = None) -> tuple[type, Any]:
    """The dataset class and its validated params: spec slot, then ``--root``, then ``--param`` win."""
    from erc_bench.core.plugin_host import host

    registered = host().get("dataset", name)
    values = _params_from_spec(spec, name) if spec else {}
    fields = registered.cls.Params.model_fields
    if root is not None:
        if "root" not in fields:
            raise UserError(f"dataset '{name}' has no 'root' param; its params: {', '.join(fields) or '(none)'}")
        values["root"] = str(Path(root).expanduser())
    for assignment in params or []:
        key, value = parse_param(assignment)
        values[key] = value
    try:
        return registered.cls, registered.cls.Params(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "params"
        message = "unknown param" if err["type"] == "extra_forbidden" else err["msg"]
        raise UserError(f"dataset '{name}': {where}: {message}") from None


def dataset_info(name: str, root: str | None = None, params: list[str] | None = None, spec: str | None = None,
                 check_audio: bool = False, on_item: Callable[[], None] | None = None) -> DatasetReport:
    """Build dataset ``name``, load it and summarise it (the body of ``erc-bench data info``)."""
    cls, validated = resolve_params(name, root, params, spec)
    return summarise(cls(validated).load(), check_audio=check_audio, on_item=on_item)


def render_report(report: DatasetReport, console: Any = None, max_problems: int = 20) -> None:
    """Rich tables: splits, labels per split, problems by kind and the first few problems."""
    from rich.console import Console
    from rich.table import Table

    from erc_bench.core.label_names import label_names_note, renamed_labels
    from erc_bench.core.printable import printable, shown

    console = console or Console()
    splits = Table(title=f"dataset '{report.name}' - {report.total_utterances} utterances")
    for column in ("split", "conversations", "utterances", "with audio", "speakers"):
        splits.add_column(column, justify="left" if column == "split" else "right")
    for split, c in report.splits.items():
        splits.add_row(shown(split), str(c.conversations), str(c.utterances), str(c.with_audio), str(c.speakers))
    console.print(splits)
    all_labels = list(dict.fromkeys(lab for counts in report.label_counts.values() for lab in counts))
    labels = Table(title="labels per split")
    labels.add_column("label")
    for split in report.splits:
        labels.add_column(split, justify="right")
    for label in all_labels:
        labels.add_row(shown(label), *(str(report.label_counts[s].get(label, 0)) for s in report.splits))
    console.print(labels)
    renamed = renamed_labels(report.labels)
    if renamed:
        console.print(printable(label_names_note(renamed)), markup=False, highlight=False, soft_wrap=True)
    checked = "" if report.audio_checked else " (audio not decoded; --check-audio probes it)"
    if not report.problems:
        console.print(f"problems: none{checked}")
        return
    kinds = Table(title=f"problems: {len(report.problems)}{checked}")
    kinds.add_column("kind")
    kinds.add_column("count", justify="right")
    for kind, count in sorted(report.problem_counts.items()):
        kinds.add_row(kind, str(count))
    console.print(kinds)
    for problem in report.problems[:max_problems]:
        console.print(printable(f"  {problem.kind}: {problem.item_id}" + (f" - {problem.detail}" if problem.detail
                                                                              else "")),
                      markup=False, highlight=False)
    if len(report.problems) > max_problems:
        console.print(f"  ... and {len(report.problems) - max_problems} more")

resolve_dataset_params = resolve_params  # the public name (erc_bench.resolve_dataset_params)
