"""Dataset cards: what a corpus is, where it comes from, how it is split and labelled, what is wrong with it.

A dataset plugin class may carry a ``card`` class attribute (a ``DatasetCard``); every built-in one
does. The engine reads it for ``erc-bench data list`` / ``data card NAME``, quotes its "how to obtain"
lines when a corpus is missing (``DataError.obtain``), and logs it with every dataset-seed run
(``dataset_card.json`` and the citation tag) so the HTML report can show what to cite. A third-party
dataset without a card still works everywhere; the engine says "no card".

Counts on a card are the **publisher's** figures for the real release (or, where the publisher gives
none, figures computed from the release and marked so in ``note``); the loader's own counts on a
given copy are what ``erc-bench data info`` prints, and a test compares the two on fixtures.
Plain frozen dataclasses: no pydantic, no I/O, cheap to import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SplitCount:
    """Size of one split of the real release: ``split`` is this project's name (train / validation / test),
    ``source`` the publisher's name for it (``dev``, ``Test1``, ``Session 1``)."""

    split: str
    utterances: int | None
    conversations: int | None = None
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class DatasetCard:
    """A corpus's card. ``label_map`` pairs the release's code or value with the label the plugin gives
    (``("W", "anger")``); ``layout`` is the folder tree the plugin expects under ``root``, one line per
    entry; ``defects`` are known faults of the release, each reported by the loader as a ``Problem``."""

    title: str
    citation: str  # BibTeX
    licence: str
    obtain: tuple[str, ...]
    layout: tuple[str, ...] = ()
    splits: str = ""
    counts: tuple[SplitCount, ...] = ()
    label_map: tuple[tuple[str, str], ...] = ()
    defects: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    url: str = ""
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the ``dataset_card.json`` artifact of a seed run)."""
        return asdict(self)

    def count_of(self, split: str) -> int | None:
        """Utterances the card states for ``split`` (summed when the split has several sources), else None."""
        found = [c.utterances for c in self.counts if c.split == split and c.utterances is not None]
        return sum(found) if found else None

    def text(self, name: str = "") -> str:
        """The whole card as plain text (what ``erc-bench data card NAME`` prints)."""
        head = f"{self.title}" + (f" (plugin '{name}')" if name else "")
        lines = [head, "=" * len(head)]
        if self.url:
            lines.append(f"url: {self.url}")
        lines.append(f"licence: {self.licence}")
        if self.tasks:
            lines.append(f"tasks: {'; '.join(self.tasks)}")
        if self.modalities:
            lines.append(f"modalities: {', '.join(self.modalities)}")
        lines += ["", "how to obtain:", *(f"  {line}" for line in self.obtain)]
        if self.layout:
            lines += ["", "expected layout under root:", *(f"  {line}" for line in self.layout)]
        if self.splits or self.counts:
            lines += ["", "splits:"]
            if self.splits:
                lines.append(f"  {self.splits}")
            for c in self.counts:
                size = "?" if c.utterances is None else f"{c.utterances}"
                conv = "" if c.conversations is None else f", {c.conversations} conversations"
                source = f" ({c.source})" if c.source else ""
                note = f" - {c.note}" if c.note else ""
                lines.append(f"  {c.split}{source}: {size} utterances{conv}{note}")
        if self.label_map:
            lines += ["", "labels (release value -> label):",
                      *(f"  {code} -> {label}" for code, label in self.label_map)]
        if self.defects:
            lines += ["", "known defects of the release:", *(f"  - {d}" for d in self.defects)]
        if self.notes:
            lines += ["", "notes:", *(f"  - {n}" for n in self.notes)]
        lines += ["", "citation:", self.citation.strip()]
        return "\n".join(lines)


def card_of(cls: type) -> DatasetCard | None:
    """A dataset class's card, or None (a third-party plugin need not have one)."""
    card = getattr(cls, "card", None)
    return card if isinstance(card, DatasetCard) else None


def dataset_card(plugin: str) -> DatasetCard | None:
    """The card of the registered dataset plugin ``plugin`` (None when it has none or is unknown)."""
    from erc_bench.core.errors import UserError
    from erc_bench.core.plugin_host import host

    try:
        return card_of(host().get("dataset", plugin).cls)
    except UserError:
        return None
