"""Plots for training runs (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def confusion_plot(confusion: dict[str, Any], title: str, path: Path) -> Path:
    """A confusion matrix with counts, class names and axis labels, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
