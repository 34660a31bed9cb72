"""Label names as they appear in MLflow metric names (``f1/<label>``).

Corpora name their classes freely ("happy (excited)", "frustrated?"); MLflow
refuses most punctuation in metric names and would fail a run after Stage I. One
collision-free mapping, from the corpus's label list, is used wherever a
per-class metric is written or read back; the mapping is logged as a param,
shown in the HTML report, and printed by ``validate`` and ``data info``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LABEL_NAMES_PARAM = "label_metric_names"
"""The seed run's param holding ``{label: metric-name form}`` for the labels that needed one."""

_UNSAFE = re.compile(r"[^\w\-. ]+")


def metric_labels(labels: Sequence[str]) -> dict[str, str]:
    """Label -> the form used in metric names (``f1/<form>``): MLflow refuses ``( ) ? ' " < > = + & :`` and
    more in metric names, so those characters are dropped, runs of spaces collapsed, leading and trailing dots
    and spaces stripped (a name must not look like a path), and a form that collides with an earlier one
    gets ``_2``, ``_3``... Labels MLflow accepts map to themselves, so their metric names never change."""
    def form(label: str) -> str:
        return " ".join(_UNSAFE.sub("", str(label)).split()).strip(". ") or "label"

    out = {label: label for label in labels if form(label) == label}  # accepted names never change
    taken = set(out)
    for label in labels:
        if label in out:
            continue
        base, candidate, n = form(label), form(label), 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        out[label] = candidate
        taken.add(candidate)
    return {label: out[label] for label in labels}


def renamed_labels(labels: Sequence[str]) -> dict[str, str]:
    """Only the labels whose metric-name form differs (what ``validate``, ``data info`` and MLflow show)."""
    return {label: form for label, form in metric_labels(labels).items() if form != label}


def label_names_note(renamed: dict[str, str]) -> str:
    """One line: ``per-class metrics are named f1/happy excited for 'happy (excited)', ...``."""
    return "per-class metrics are named " + ", ".join(
        f"f1/{form} for {label!r}" for label, form in renamed.items()) + " (MLflow refuses those characters)"
