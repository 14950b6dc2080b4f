"""Training curves as a picture: the loss and the clean / noisy accuracy after every epoch.

The lesson's point is that gradient descent walks downhill; the curve shows
the walk. Drawn with matplotlib's Agg backend (no GUI, no pyplot state) from
the ``curves`` that ``train_model(..., curves=True)`` keeps in the metadata.
"""

from __future__ import annotations

import io
from typing import Any


def draw_curves_png(curves: dict[str, list[float]], title: str) -> bytes:
    """A PNG of the loss (log scale) and the accuracies per epoch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, accuracy_ax = fig.subplots(1, 2)
    epochs = range(1, len(curves["loss"]) + 1)
    loss_ax.plot(epochs, curves["loss"], color="#1f4e8c", marker=".")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss (log scale)")
    loss_ax.set_title("loss")
    for key, label, colour in (("clean_accuracy", "clean patterns", "#2e7d32"),
                               ("noisy_accuracy", "noisy held-out set", "#c77c02")):
        accuracy_ax.plot(epochs, [100 * a for a in curves[key]], label=label, color=colour,
                         marker=".")
    accuracy_ax.set_ylim(0, 101)
    accuracy_ax.set_xlabel("epoch")
    accuracy_ax.set_ylabel("accuracy (%)")
    accuracy_ax.set_title("accuracy")
    accuracy_ax.legend(loc="lower right")
    fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def curves_title(model: Any) -> str:
    """What the picture is of: the network's shape, its model hash, the final accuracies."""
    curves = model.training["curves"]
    return (
        f"{'-'.join(map(str, model.sizes))} network, model {model.short_hash}: "
        f"{len(curves['loss'])} epochs, clean {curves['clean_accuracy'][-1]:.0%}, "
        f"noisy {curves['noisy_accuracy'][-1]:.1%}"
    )
