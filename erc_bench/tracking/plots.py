"""The figures a researcher expects, as PNG bytes: confusion matrix, per-class F1, training curves.

The same renderers feed MLflow artifacts and the HTML report, so a figure looks
the same wherever it is opened. matplotlib (Agg, no display) is imported inside
each function: importing this module must stay cheap for ``erc-bench --help``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

# Colour-blind-safe (Okabe-Ito) colours; one per seed or series, cycling.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    return buffer.getvalue()


def row_normalised(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """Each gold row divided by its total, so classes of any size read as recall (empty rows stay 0)."""
    out = []
    for row in matrix:
        total = float(sum(row))
        out.append([float(v) / total if total else 0.0 for v in row])
    return out


def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> bytes:
    """Row-normalised confusion matrix; each cell shows its share and its count.

    Text is white on dark cells and black on light ones, so every number stays legible.
    """
    plt = _pyplot()
    shares = row_normalised(matrix)
    size = len(labels)
    fig, ax = plt.subplots(figsize=(2.2 + 0.9 * size, 1.6 + 0.8 * size))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    ax.set_xticks(range(size), labels, rotation=45, ha="right")
    ax.set_yticks(range(size), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            share = shares[i][j]
            ax.text(j, i, f"{share:.0%}\n({int(count)})", ha="center", va="center", fontsize=7,
                    color="white" if share > 0.55 else "black")
    fig.tight_layout()
    return _png(fig)


def per_class_f1_png(f1_by_series: Mapping[str, Mapping[str, float]], labels: Sequence[str], title: str,
                     xlabel: str = "F1") -> bytes:
    """Grouped horizontal bars: one group per class, one bar per series (seed or split), F1 as a fraction."""
    plt = _pyplot()
    series = list(f1_by_series)
    height = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(6.0, 1.2 + 0.35 * len(labels) * max(len(series), 1) ** 0.5 + 0.3 * len(labels)))
    for s, name in enumerate(series):
        values = [f1_by_series[name].get(label, 0.0) for label in labels]
        positions = [i + (s - (len(series) - 1) / 2) * height for i in range(len(labels))]
        ax.barh(positions, values, height=height * 0.95, color=PALETTE[s % len(PALETTE)], label=name)
        for y, value in zip(positions, values, strict=True):
            ax.text(min(value, 0.9) + 0.01, y, f"{value:.2f}", va="center", fontsize=6)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=9)
    if len(series) > 1:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def training_curves_png(histories: Mapping[str, Sequence[Mapping[str, float]]], title: str,
                        best_epochs: Mapping[str, int] | None = None) -> bytes:
    """Loss (train solid, validation dashed) and validation weighted F1 per epoch, one colour per series.

    ``histories[name]`` holds records with ``epoch`` and any of ``train_loss``,
    ``val_loss``, ``val_weighted_f1``; the selected epoch is marked with a dot.
    """
    plt = _pyplot()
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(9.0, 3.2))
    for s, (name, records) in enumerate(histories.items()):
        colour = PALETTE[s % len(PALETTE)]
        epochs = [r["epoch"] for r in records]
        for key, style, label in (("train_loss", "-", "train"), ("val_loss", "--", "validation")):
            points = [(e, r[key]) for e, r in zip(epochs, records, strict=True) if r.get(key) is not None]
            if points:
                loss_ax.plot(*zip(*points, strict=True), style, color=colour, label=f"{name} {label}")
        points = [(e, r["val_weighted_f1"]) for e, r in zip(epochs, records, strict=True)
                  if r.get("val_weighted_f1") is not None]
        if points:
            f1_ax.plot(*zip(*points, strict=True), "-", color=colour, label=name)
            best = (best_epochs or {}).get(name)
            chosen = [v for e, v in points if e == best]
            if chosen:
                f1_ax.plot([best], chosen, "o", color=colour, markersize=6)
    loss_ax.set_title("loss (train solid, validation dashed)", fontsize=9)
    loss_ax.set_xlabel("epoch")
    f1_ax.set_title("validation weighted F1 (dot: selected epoch)", fontsize=9)
    f1_ax.set_xlabel("epoch")
    f1_ax.set_ylim(0.0, 1.0)
    from matplotlib.ticker import MaxNLocator

    for ax in (loss_ax, f1_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


def seed_summary_png(rows: Sequence[tuple[str, Sequence[float]]], title: str) -> bytes:
    """Test weighted F1 per stage: mean bar with ± std whisker and every seed as a dot."""
    import statistics

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.45 * len(rows)))
    for i, (_, values) in enumerate(rows):
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        ax.barh(i, mean, xerr=std, color=PALETTE[0], alpha=0.55, capsize=3)
        ax.plot(values, [i] * len(values), "o", color=PALETTE[5], markersize=4)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("test weighted F1 (bar: mean ± std over seeds; dots: seeds)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _png(fig)
