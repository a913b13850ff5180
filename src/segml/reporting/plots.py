"""The training plots DVC shows: static PNG images (matplotlib), which render offline.

The train stage imports this module alone of the reporting package, so editing the report's text
or layout never reruns training.
"""

from __future__ import annotations

import io as _bytes_io

import pandas as pd


def _pyplot():
    """pyplot on the headless Agg backend, chosen at first use rather than at import time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = _pyplot()
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def plot_churn(calibration: pd.DataFrame, lift: pd.DataFrame) -> bytes:
    """Calibration and cumulative gains as a PNG (DVC plots)."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect")
    a.plot(calibration["mean_predicted"], calibration["observed_rate"], marker="o", label="model")
    a.set_xlabel("predicted churn probability")
    a.set_ylabel("observed churn rate")
    a.set_title("Calibration (validation cutoff)")
    a.legend()
    for scorer, part in lift.groupby("scorer", sort=True):
        b.plot(part["share_contacted"], part["share_churners_caught"], label=scorer)
    b.plot([0, 1], [0, 1], ls=":", color="grey")
    b.set_xlabel("share of customers contacted (highest risk first)")
    b.set_ylabel("share of churners caught")
    b.set_title("Cumulative gains: model vs baselines")
    if len(lift):  # no model trained: nothing to name
        b.legend()
    return _png(fig)


def plot_deciles(deciles: pd.DataFrame) -> bytes:
    """Predicted vs actual future value per decile as a PNG (DVC plots)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = deciles["decile"].to_numpy()
    ax.bar(x - 0.2, deciles["mean_predicted"], 0.4, label="predicted")
    ax.bar(x + 0.2, deciles["mean_actual"], 0.4, label="actual")
    ax.set_xlabel("decile of predicted value (1 = highest)")
    ax.set_ylabel("mean next-period spend")
    ax.set_xticks(x)
    ax.legend()
    ax.set_title("Future value: predicted vs actual by decile")
    return _png(fig)
