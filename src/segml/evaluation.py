"""Model quality measures, named as the field names them, and the A/B/C model grade."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

# A model is graded against its best baseline on the same customers:
#   A = beats it by at least GRADE_A_MARGIN on the headline metric (churn: ROC AUC, value: gini)
#   B = beats it by less than that
#   C = does not beat it (the summary and MLflow say so loudly)
GRADE_A_MARGIN = 0.03


def lift_at(y: np.ndarray, score: np.ndarray, top: float = 0.10) -> float:
    """Churn rate among the top `top` share by score, divided by the overall churn rate."""
    n = max(1, int(round(len(y) * top)))
    order = np.argsort(-score, kind="stable")
    overall = y.mean()
    return float(y[order[:n]].mean() / overall) if overall > 0 else float("nan")


def churn_metrics(y, p) -> dict:
    y, p = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 0, 1)
    if len(np.unique(y)) < 2:
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "brier": float(brier_score_loss(y, p)),
                "lift_top10": float("nan")}
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "lift_top10": lift_at(y, p, 0.10),
    }


def normalized_gini(actual, predicted) -> float:
    """Gini of the predicted ranking over the Gini of the perfect ranking (1 = perfect, 0 = random)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)

    def gini(by: np.ndarray) -> float:
        order = np.lexsort((np.arange(len(by)), -by))  # ties keep input order: deterministic
        cum = np.cumsum(actual[order]) / actual.sum()
        return float(cum.sum() / len(actual) - (len(actual) + 1) / (2 * len(actual)))

    if actual.sum() == 0:
        return float("nan")
    return gini(predicted) / gini(actual)


def capture_at(actual, predicted, top: float = 0.20) -> float:
    """Share of the next period's total spend made by the top `top` share of predicted customers."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    n = max(1, int(round(len(actual) * top)))
    order = np.argsort(-predicted, kind="stable")
    total = actual.sum()
    return float(actual[order[:n]].sum() / total) if total > 0 else float("nan")


def value_metrics(actual, predicted) -> dict:
    actual = np.clip(np.asarray(actual, dtype=float), 0, None)
    predicted = np.asarray(predicted, dtype=float)
    rho = spearmanr(actual, predicted).statistic if np.std(predicted) > 0 else float("nan")
    return {
        "normalized_gini": normalized_gini(actual, predicted),
        "spearman": float(rho),
        "top20_capture": capture_at(actual, predicted, 0.20),
        "mae": float(np.mean(np.abs(actual - predicted))),
    }


def decile_table(actual, predicted) -> pd.DataFrame:
    """Mean predicted vs mean actual per predicted-value decile (1 = highest predicted)."""
    predicted = np.asarray(predicted, dtype=float)
    order = np.argsort(-predicted, kind="stable")
    decile = np.empty(len(predicted), dtype=int)
    decile[order] = np.arange(len(predicted)) * 10 // max(len(predicted), 1) + 1
    frame = pd.DataFrame({"decile": decile, "predicted": predicted, "actual": np.asarray(actual, dtype=float)})
    return frame.groupby("decile").agg(customers=("actual", "size"), mean_predicted=("predicted", "mean"),
                                       mean_actual=("actual", "mean")).reset_index()


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Reliability curve: mean predicted vs observed churn rate per probability bin."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    table = frame.groupby("bin").agg(customers=("y", "size"), mean_predicted=("p", "mean"),
                                     observed_rate=("y", "mean")).reset_index()
    return table


def grade(model_score: float, baseline_scores: dict[str, float]) -> dict:
    """Compare a headline metric (higher is better) with the best baseline."""
    valid = {k: v for k, v in baseline_scores.items() if v == v}
    best_name = max(valid, key=valid.get) if valid else None
    best = valid.get(best_name, float("nan")) if best_name else float("nan")
    margin = model_score - best if best_name else float("nan")
    letter = "A" if margin >= GRADE_A_MARGIN else ("B" if margin > 0 else "C")
    return {"best_baseline": best_name, "margin_over_best_baseline": margin, "beats_baseline": bool(margin > 0),
            "grade": letter}


def verdict(summary: dict) -> str:
    """One line for people: "B: beats its best baseline (baseline_bgnbd) by +0.009"."""
    beats = "beats" if summary["beats_baseline"] else "DOES NOT BEAT"
    return (f"{summary['grade']}: {beats} its best baseline ({summary['best_baseline']}) by "
            f"{summary['margin_over_best_baseline']:+.3f}")
