"""Values that came from secret-named environment variables, and their ``${VAR}`` form.

A spec may write ``${SOME_TOKEN}`` anywhere; the component needs the real value,
but nothing written down (MLflow params and artifacts, cache metadata, the label
store, logs) may hold it. The spec loader remembers each value expanded from a
variable whose name looks secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``), and ``redact_secrets`` puts the ``${VAR}`` form back wherever text is
about to be stored. Process-wide on purpose: a run, its plugins and its
tracker all see the same list.
"""

from __future__ import annotations

import threading
from typing import Any

_MIN_LENGTH = 4  # shorter values ("1", "yes") would redact ordinary text
_lock = threading.Lock()
_known: dict[str, str] = {}


def remember(value: str, variable: str) -> None:
    """Record that ``value`` came from the secret-named ``variable``."""
    if len(value) >= _MIN_LENGTH:
        with _lock:
            _known[value] = f"${{{variable}}}"


def redact_secrets(value: Any) -> Any:
    """Text (or a dict / list of it) with every remembered secret replaced by its ``${VAR}`` form."""
    if not _known:
        return value
    if isinstance(value, str):
        for secret, ref in sorted(_known.items(), key=lambda item: -len(item[0])):
            value = value.replace(secret, ref)
        return value
    if isinstance(value, dict):
        return {redact_secrets(k): redact_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_secrets(v) for v in value)
    return value


def forget_all() -> None:
    """For tests: start from an empty list."""
    with _lock:
        _known.clear()
