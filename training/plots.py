"""Plots for training runs and accuracy reports (matplotlib, no display needed).

Every function returns PNG bytes: the report embeds them, MLflow logs them as files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

DECISION_COLOURS = {"auto": "#2a9d8f", "suggest": "#e9c46a", "review": "#e76f51"}


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _counted_ticks(
    ax: Any, names: Sequence[str], counts: Sequence[int], xlabel: str | None = None
) -> None:
    """One tick per group or week, with its number of tickets under the name."""
    labels = [f"{name}\n(n={n})" for name, n in zip(names, counts, strict=True)]
    ax.set_xticks(range(len(names)), labels, fontsize=8 if len(names) > 6 else None)
    if xlabel:
        ax.set_xlabel(xlabel)


def confusion_plot(confusion: dict[str, Any], title: str) -> bytes:
    """A confusion matrix with counts, class names and axis labels."""
    labels = confusion["labels"]
    matrix = np.array(confusion["matrix"])
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("labeled (gold)")
    ax.set_title(f"{title} (n={int(matrix.sum())})")
    top = matrix.max() or 1
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if matrix[i, j] > top / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour)
    return _png(fig)


def reliability_plot(curves: dict[str, dict[str, Any]]) -> bytes:
    """Reliability diagram: accuracy against mean confidence per bin, one line per field."""
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for field, curve in curves.items():
        bins = [b for b in curve["bins"] if b["n"]]
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            label=f"{field} (ECE {curve['ece']:.3f}, n={curve['n']})",
        )
        for b in bins:
            ax.annotate(
                str(b["n"]),
                (b["confidence"], b["accuracy"]),
                fontsize=7,
                xytext=(3, -9),
                textcoords="offset points",
            )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence of the predicted label (bin mean)")
    ax.set_ylabel("share correct")
    ax.set_title("Calibration (test split; numbers are tickets per bin)")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def coverage_plot(curves: dict[str, dict[str, Any]]) -> bytes:
    """Precision of the most confident predictions against the share covered, with the
    auto and auto+suggest operating points marked."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4.5), squeeze=False)
    for ax, (field, curve) in zip(axes[0], curves.items(), strict=True):
        ax.plot(curve["coverage"], curve["precision"], color="#264653", label="by confidence")
        for level, marker, size in zip(curve["levels"], ("o", "D"), (110, 40), strict=False):
            ax.scatter(
                [level["coverage"]],
                [level["precision"]],
                s=size,
                marker=marker,
                zorder=3,
                color=DECISION_COLOURS[level["name"].split("+")[-1]],
                label=f"{level['name']}: {level['coverage']:.0%} at {level['precision']:.1%}",
            )
        marked = [lv["precision"] for lv in curve["levels"] if lv["precision"] == lv["precision"]]
        lowest = min([*curve["precision"], *marked, 1.0])
        ax.set_xlim(0, 1.02)
        ax.set_ylim(max(0.0, lowest - 0.05), 1.005)
        ax.set_xlabel("share of tickets decided (coverage)")
        ax.set_ylabel("precision of those decided")
        ax.set_title(f"{field}: coverage against precision (n={curve['n']})")
        ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def grouped_bars(
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    counts: Sequence[int],
    title: str,
    ylabel: str,
) -> bytes:
    """Bars per group (e.g. per language) for several figures, with the group sizes below."""
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(groups) + 2), 4.5))
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for k, (name, values) in enumerate(series.items()):
        bars = ax.bar(x + k * width - 0.4 + width / 2, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    _counted_ticks(ax, groups, counts)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def weekly_lines(
    weeks: Sequence[str],
    series: dict[str, Sequence[float | None]],
    counts: Sequence[int],
    title: str,
    ylabel: str,
) -> bytes:
    """One line per series over the weeks, with the number of tickets per week below."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(weeks) + 3), 4.5))
    x = np.arange(len(weeks))
    for name, values in series.items():
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        ax.plot(x, y, marker="o", label=name)
    _counted_ticks(ax, weeks, counts, "week the prediction was made")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def weekly_stacked(
    weeks: Sequence[str],
    shares: dict[str, Sequence[float]],
    counts: Sequence[int],
    title: str,
    colours: dict[str, str] | None = None,
) -> bytes:
    """Stacked shares per week (label distribution, decision levels)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(weeks) + 4), 4.5))
    x = np.arange(len(weeks))
    bottom = np.zeros(len(weeks))
    for name, values in shares.items():
        heights = np.asarray(values, dtype=float)
        ax.bar(x, heights, 0.7, bottom=bottom, label=name, color=(colours or {}).get(name))
        bottom += heights
    _counted_ticks(ax, weeks, counts, "week the prediction was made")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of predictions")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(fig)


def count_bars(labels: Sequence[str], counts: Sequence[int], title: str, xlabel: str) -> bytes:
    """Plain counts per label (correction volume per week, confused pairs)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(labels) + 3), 4.5))
    bars = ax.bar(range(len(labels)), counts, color="#457b9d")
    ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    return _png(fig)
