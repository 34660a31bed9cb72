"""Any Hugging Face ``datasets`` dataset as a corpus: from the hub (revision pinned) or a local ``save_to_disk`` folder.

``path``: a hub id (``org/name``) loaded with ``datasets.load_dataset(path, name=config, revision=revision)``,
or a folder written by ``Dataset(Dict).save_to_disk`` loaded with ``datasets.load_from_disk``. ``columns``
maps this toolkit's fields to the dataset's columns: ``text`` and ``label`` are required; ``conversation``
(rows of one conversation share it; without it each row is its own conversation), ``utterance`` (an id;
default ``<split>-<row>``), ``position`` (order inside a conversation; default row order), ``speaker``,
``audio`` (an ``Audio`` feature or a path column) and ``split`` (when one table holds every split) are
optional. Splits: a ``DatasetDict``'s split names (or the ``split`` column's values) go through ``splits``
(default: train, validation / valid / dev, test as usual); other names are left out and listed once as a
``skipped-split`` problem. Labels: a ``ClassLabel`` column gives its names; strings are kept as written;
``labels`` fixes the set and order (others are ``unknown-label``).

Identity: the dataset's params (``path``, ``config``, ``revision``, ``columns``...) are part of every cache
key that uses the corpus, so ``revision`` (a commit, tag or branch of the hub repository) pins what is
read; set a commit for a reproducible benchmark. A local folder has no revision, so ``fingerprint()``
adds the ``datasets`` fingerprints of its splits (they change when the saved data changes); and every
stage key also digests the utterance ids, labels and texts it read, so a changed corpus never replays
results of another.

Audio stored as bytes (hub parquet, ``save_to_disk``) is written once to
``<erc-bench cache>/hf-audio/<digest>.<ext>`` so the toolkit's decoder (``erc_bench.load_audio``, which
resamples to 16 kHz) can read it like any clip; audio with an existing local path is used in place.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import (
    AudioSource,
    DataError,
    DatasetCard,
    DatasetSplits,
    Problem,
    Utterance,
    default_cache_dir,
    require,
)

from .common import SPLIT_ALIASES, check_text, conversation_list, empty_splits, finish

CARD = DatasetCard(
    title="Hugging Face dataset (any)",
    citation="(cite the dataset you load: its dataset card on the hub lists the BibTeX)",
    licence="that of the dataset you load (its hub card)",
    obtain=("a hub id (params.path = 'org/name', params.revision = a commit) or a folder written by "
            "datasets' save_to_disk; pip install 'erc-bench[hf]'",),
    layout=("params.columns maps text, label (required) and conversation, utterance, position, speaker, audio, "
            "split (optional) to the dataset's columns",),
    splits="the DatasetDict's splits (or a split column) through params.splits; default train / validation / test",
    defects=("rows without text or label, unknown labels and splits not mapped are reported",),
    tasks=("any labelled task",),
    modalities=("text", "speech"),
)
FIELDS = ("conversation", "utterance", "position", "speaker", "text", "audio", "label", "split")


class HfDatasetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="hub id (org/name) or a local save_to_disk folder")
    config: str | None = Field(None, description="the dataset's configuration name (hub)")
    revision: str | None = Field(None, description="hub commit, tag or branch; pin a commit for reproducibility")
    columns: dict[str, str] = Field(default_factory=lambda: {"text": "text", "label": "label"},
                                    description=f"toolkit field -> dataset column; fields: {', '.join(FIELDS)}")
    splits: dict[str, str] | None = Field(None, description="dataset split name -> train / validation / test")
    labels: list[str] | None = Field(None, description="fixed label set and order; default: ClassLabel names or "
                                                       "the sorted labels seen")


def _load(params: HfDatasetParams) -> Any:
    datasets = require("datasets", "hf", "the hf-dataset corpus")
    local = Path(params.path).expanduser()
    try:
        if local.is_dir():
            return datasets.load_from_disk(str(local))
        return datasets.load_dataset(params.path, name=params.config, revision=params.revision)
    except Exception as exc:  # noqa: BLE001 - any loader failure is the user's corpus, named in one line
        raise DataError(f"hf-dataset: cannot load '{params.path}'"
                        f"{f' at revision {params.revision}' if params.revision else ''}: "
                        f"{type(exc).__name__}: {exc}", obtain=CARD.obtain) from exc


def _as_tables(loaded: Any, split_column: str | None) -> dict[str, Any]:
    """{dataset split name: Dataset}; a single Dataset is split by its split column (or is all 'train')."""
    if isinstance(loaded, dict):  # a DatasetDict (a dict of Dataset by split name)
        return {str(name): loaded[name] for name in loaded.keys()}
    if split_column is None:
        return {"train": loaded}
    names = sorted({str(v) for v in loaded[split_column]})
    return {name: loaded.filter(lambda row, n=name: str(row[split_column]) == n) for name in names}


def _audio_file(value: Any, utt_id: str, problems: list[Problem]) -> AudioSource | None:
    """An Audio feature (decode off: {path, bytes}) or a path string -> a file the decoder can read."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value, "bytes": None}
    path, data = value.get("path"), value.get("bytes")
    if path and Path(path).is_file():
        return AudioSource(str(path))
    if data:
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        target = Path(default_cache_dir()) / "hf-audio" / f"{digest}{Path(path or 'x.wav').suffix or '.wav'}"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(data)
            partial.replace(target)
        return AudioSource(str(target))
    problems.append(Problem("missing-audio", utt_id, str(path or "(no path, no bytes)")))
    return None


class HfDataset:
    """Any Hugging Face dataset (hub or save_to_disk folder) with a column mapping."""

    name: ClassVar[str] = "hf-dataset"
    Params: ClassVar[type[BaseModel]] = HfDatasetParams
    card: ClassVar[DatasetCard] = CARD

    def __init__(self, params: HfDatasetParams) -> None:
        unknown = sorted(set(params.columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"columns: unknown field(s) {', '.join(unknown)}; fields: {', '.join(FIELDS)}")
        missing = [f for f in ("text", "label") if f not in params.columns]
        if missing:
            raise ValueError(f"columns must map {', '.join(missing)}")
        self.params = params

    def fingerprint(self) -> str:
        """The saved splits' ``datasets`` fingerprints for a local folder (a hub dataset is pinned by revision)."""
        local = Path(self.params.path).expanduser()
        if not local.is_dir():
            return ""
        digest = hashlib.sha256()
        for state in sorted(local.rglob("state.json")):  # holds each split's _fingerprint
            digest.update(state.read_bytes())
        return digest.hexdigest()[:16]

    def load(self) -> DatasetSplits:
        p, cols = self.params, self.params.columns
        loaded = _load(p)
        mapping = p.splits or SPLIT_ALIASES
        tables = _as_tables(loaded, cols.get("split"))
        problems: list[Problem] = []
        splits = empty_splits()
        class_names: list[str] | None = None
        seen: set[str] = set()
        for split_name, table in tables.items():
            split = mapping.get(split_name, mapping.get(split_name.lower()))
            if split not in splits:
                problems.append(Problem("skipped-split", split_name, "not mapped to train / validation / test"))
                continue
            absent = [c for f, c in cols.items() if c not in table.column_names]
            if absent:
                raise DataError(f"hf-dataset: '{p.path}' split {split_name} has no column(s) {', '.join(absent)}; "
                                f"its columns: {', '.join(table.column_names)}", obtain=CARD.obtain)
            feature = table.features[cols["label"]]
            if hasattr(feature, "names"):
                class_names = list(feature.names)
            if "audio" in cols and type(table.features[cols["audio"]]).__name__ == "Audio":
                datasets = require("datasets", "hf", "the hf-dataset corpus")
                table = table.cast_column(cols["audio"], datasets.Audio(decode=False))
            groups: dict[str, list[tuple[int, Utterance]]] = {}
            for index, row in enumerate(table):
                utt_id = str(row[cols["utterance"]]) if "utterance" in cols else f"{split_name}-{index}"
                raw = row[cols["label"]]
                if raw is None or raw == "":
                    problems.append(Problem("missing-label", utt_id, f"row {index} of {split_name}"))
                    continue
                label = class_names[raw] if class_names is not None and isinstance(raw, int) else str(raw)
                if p.labels is not None and label not in p.labels:
                    problems.append(Problem("unknown-label", utt_id, f"label '{label}' not in {p.labels}"))
                    continue
                conv = str(row[cols["conversation"]]) if "conversation" in cols else utt_id
                order = int(row[cols["position"]]) if "position" in cols else index
                speaker = row.get(cols["speaker"]) if "speaker" in cols else None
                audio = _audio_file(row[cols["audio"]], utt_id, problems) if "audio" in cols else None
                utterance = Utterance(id=utt_id, conversation_id=conv, position=order,
                                      text=str(row[cols["text"]] or "").strip(), label=label,
                                      speaker=None if speaker in (None, "") else str(speaker), audio=audio,
                                      meta={"hf_split": split_name})
                check_text(utterance, problems)
                seen.add(label)
                groups.setdefault(conv, []).append((order, utterance))
            ordered = {conv: [u for _, u in sorted(items, key=lambda item: item[0])] for conv, items in groups.items()}
            splits[split].extend(conversation_list(ordered))
        labels = p.labels or class_names or sorted(seen)
        return finish(self.name, labels, splits, problems)
