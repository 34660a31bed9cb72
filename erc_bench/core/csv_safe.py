"""CSV cells a spreadsheet would run as formulas, neutralised (OWASP's CSV-injection rule).

Utterance ids, texts, conversation ids and system names come from corpora and specs
nobody here controls; a cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` in
``predictions.csv`` runs when the file is opened in a spreadsheet. Every text cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with
a leading ``'`` (OWASP), which spreadsheets show as text. Cells that are numbers
(``-0.25``) are left alone: a spreadsheet reads them as numbers, not formulas.
``restore`` undoes it for erc-bench's own readers (``compare``), so ids round-trip:
a cell that already begins with ``'`` and a trigger gets one more ``'``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _guarded(text: str) -> bool:
    return text.startswith(TRIGGERS) or (text.startswith("'") and _guarded(text[1:]))


def neutralise(cell: Any) -> Any:
    """``=1+1`` -> ``'=1+1``; numbers and harmless text unchanged."""
    if isinstance(cell, str) and _guarded(cell) and not _is_number(cell):
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """The cell as it was before ``neutralise``."""
    if cell.startswith("'") and _guarded(cell[1:]) and not _is_number(cell[1:]):
        return cell[1:]
    return cell


class SafeWriter:
    """``csv.writer`` whose rows are neutralised cell by cell."""

    def __init__(self, fh: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
