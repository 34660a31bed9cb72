"""Corpus strings (ids, texts, labels, paths) made safe to print on a terminal.

They come from files nobody here controls: ``[/]`` in an id is rich markup (a
``MarkupError`` that ended a run), and raw control bytes (ESC sequences) would
drive the user's terminal. ``printable`` spells control characters as Python
escapes (``\\x1b``); ``shown`` also escapes rich markup, for text printed with
markup on.
"""

from __future__ import annotations

from typing import Any


def printable(value: Any) -> str:
    """``str(value)`` with every non-printable character written as its escape (``\\x1b``, ``\\n``)."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shown(value: Any) -> str:
    """``printable`` and rich-markup-escaped: safe inside a ``console.print`` string with markup."""
    from rich.markup import escape

    return escape(printable(value))
