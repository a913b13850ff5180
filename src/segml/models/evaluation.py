"""Model quality measures, named as the field names them, and the A/B/C grade from the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from segml.models.totals import total_ratio


def lift_at(y: np.ndarray, score: np.ndarray, top: float = 0.10) -> float:
    """Churn rate among the top `top` share by score, divided by the overall churn rate."""
    n = max(1, int(round(len(y) * top)))
    order = np.argsort(-score, kind="stable")
    overall = y.mean()
    return float(y[order[:n]].mean() / overall) if overall > 0 else float("nan")


def churn_metrics(y, p) -> dict:
    y, p = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 0, 1)
    if len(np.unique(y)) < 2:
        return {
            "roc_auc": float("nan"),
            "pr_auc": float("nan"),
            "brier": float(brier_score_loss(y, p)),
            "lift_top10": float("nan"),
        }
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
    perfect = gini(actual)
    return gini(predicted) / perfect if perfect > 0 else float("nan")  # all spent alike: no ranking


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
        # the forecast's total over what these customers really spent (1 = adds up)
        "total_ratio": total_ratio(actual, predicted),
    }


def decile_table(actual, predicted) -> pd.DataFrame:
    """Mean predicted vs mean actual per predicted-value decile (1 = highest predicted)."""
    predicted = np.asarray(predicted, dtype=float)
    order = np.argsort(-predicted, kind="stable")
    decile = np.empty(len(predicted), dtype=int)
    decile[order] = np.arange(len(predicted)) * 10 // max(len(predicted), 1) + 1
    frame = pd.DataFrame(
        {"decile": decile, "predicted": predicted, "actual": np.asarray(actual, dtype=float)}
    )
    return (
        frame.groupby("decile")
        .agg(
            customers=("actual", "size"),
            mean_predicted=("predicted", "mean"),
            mean_actual=("actual", "mean"),
        )
        .reset_index()
    )


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Reliability curve: mean predicted vs observed churn rate per probability bin."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    table = (
        frame.groupby("bin")
        .agg(customers=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index()
    )
    return table


# Plain names for people (summary, report, MLflow tags).
SCORER_NAMES = {
    "model": ("the model", "模型"),
    "baseline_recency": ("the recency rule (days since last purchase)", "最近购买天数规则"),
    "baseline_bgnbd": ("BG/NBD", "BG/NBD模型"),
    "baseline_bgnbd_expected": ("BG/NBD expected purchases", "BG/NBD预计购买次数"),
    "baseline_last_period": ("last period's spend", "上期消费"),
    "blend": ("the blend of the model and the best baseline", "模型与最佳基准的混合"),
    "baseline_contract_tenure": ("the contract type x tenure rule", "合约类型×订阅时长规则"),
    "baseline_survival": ("the survival model (sBG)", "生存模型（sBG）"),
    "baseline_run_rate": ("the current monthly fee (run rate)", "按当前月费"),
}
METRIC_NAMES = {"roc_auc": "ROC AUC", "normalized_gini": "normalised Gini"}


def _name(scorer: str | None, target: str, language: int) -> str:
    if target == "upside" and scorer == "baseline_bgnbd":
        return ("BG/NBD × Gamma-Gamma", "BG/NBD×Gamma-Gamma模型")[language]
    return SCORER_NAMES.get(scorer, (str(scorer), str(scorer)))[language]


def rank_auc(y, p) -> float:
    """ROC AUC from score ranks (Mann-Whitney U, ties counted half): scikit-learn's
    `roc_auc_score` to within 1e-12, without its input checks, which cost most of the time of the
    bootstrap's thousand calls on small samples. The fold metrics and the champion challenge keep
    scikit-learn's, so a tie there is exact."""
    y = np.asarray(y, dtype=float) > 0
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


HEADLINE = {
    "roc_auc": lambda y, p: roc_auc_score(y, p),
    "normalized_gini": lambda y, p: normalized_gini(y, p),
}
TARGET_HEADLINE = {"churn": "roc_auc", "upside": "normalized_gini"}  # what grades each model


def margin_standard_error(
    headline: str, y, model, baseline, seed: int = 0, n_boot: int = 50, max_rows: int = 20_000
) -> float:
    """Bootstrap standard error (over customers) of model minus baseline on the headline metric,
    within one fold: how much of a difference luck alone gives on a sample this size."""
    y, model, baseline = (np.asarray(v, dtype=float) for v in (y, model, baseline))
    rng = np.random.default_rng(seed)
    # scores here are this run's own, never missing: ranks skip scikit-learn's input checks
    metric = rank_auc if headline == "roc_auc" else HEADLINE[headline]
    n = min(len(y), max_rows)
    diffs = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(y), n)
        if headline == "roc_auc" and len(np.unique(y[pick])) < 2 or y[pick].sum() <= 0:
            continue
        diffs.append(metric(y[pick], model[pick]) - metric(y[pick], baseline[pick]))
    return float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")


def backtest_grade(
    target: str,
    headline: str,
    fold_scores: dict[str, list[float]],
    margin_a: float,
    fold_errors: dict[str, list[float]] | None = None,
    preferred_on_a_tie: dict[str, str] | None = None,
    pair_errors: dict[str, list[float]] | None = None,
) -> dict:
    """Grade the model against its best baseline (best mean over the backtest folds) on `headline`:

    A = beats it in every fold by at least `margin_a`;
    B = beats it on average by more than the spread;
    C = otherwise: "no clear difference" inside the spread, "worse" below it (one fold cannot tell).

    The spread is the fold-to-fold standard deviation of the difference, or, when larger, its
    bootstrap standard error within a fold (`fold_errors`): neighbouring folds share customers and
    part of their label windows, so their differences can agree by luck.

    `preferred_on_a_tie` (best -> alternative): when the best baseline's mean is not above the
    alternative's by more than the spread of their difference (`pair_errors[alternative]`: its
    bootstrap standard errors per fold), the alternative is the best baseline.
    """
    model = np.asarray(fold_scores.get("model", []), dtype=float)
    baselines = {k: np.asarray(v, dtype=float) for k, v in fold_scores.items() if k != "model"}
    means = {
        k: float(np.nanmean(v)) for k, v in baselines.items() if len(v) and np.isfinite(v).any()
    }
    best = max(means, key=means.get) if means else next(iter(baselines), None)
    best = _tie_broken(best, baselines, preferred_on_a_tie or {}, pair_errors or {})
    margins = model - baselines[best] if best is not None and len(model) else np.array([])
    k = int(np.isfinite(margins).sum())
    mean = float(np.nanmean(margins)) if k else float("nan")
    spread = float(np.nanstd(margins, ddof=1)) if k > 1 else float("nan")
    errors = np.asarray((fold_errors or {}).get(best, []), dtype=float)
    if k > 1 and np.isfinite(errors).any():
        spread = max(spread, float(np.nanmean(errors)))
    if k >= 2 and np.all(margins >= margin_a):
        letter, how = "A", "clearly better"
    elif k >= 2 and mean > spread:
        letter, how = "B", "better"
    elif k >= 2 and mean < -spread:
        letter, how = "C", "worse"
    else:
        letter, how = "C", "no clear difference" if k >= 2 else "not enough backtest folds to tell"
    return {
        "grade": letter,
        "headline": headline,
        "best_baseline": best,
        "folds": k,
        "margins": [float(m) for m in margins],
        "margin_mean": mean,
        "margin_spread": spread,
        "margin_a": margin_a,
        "beats_baseline": letter in ("A", "B"),
        "finding": how,
        **_verdicts(target, letter, how, best, headline, mean, spread, k, margin_a),
    }


def difference_spread(differences: np.ndarray, errors) -> float:
    """The spread of a difference measured in several folds: its fold-to-fold standard deviation,
    or its mean bootstrap standard error within a fold when larger (`backtest_grade`)."""
    differences = np.asarray(differences, dtype=float)
    k = int(np.isfinite(differences).sum())
    spread = float(np.nanstd(differences, ddof=1)) if k > 1 else float("nan")
    errors = np.asarray(errors if errors is not None else [], dtype=float)
    if k > 1 and np.isfinite(errors).any():
        spread = max(spread, float(np.nanmean(errors)))
    return spread


def _tie_broken(best, baselines: dict, preferred: dict, pair_errors: dict):
    """`best`, or the reading preferred to it when the folds cannot tell the two apart."""
    alternative = preferred.get(best)
    if alternative not in baselines:
        return best
    difference = baselines[best] - baselines[alternative]
    if int(np.isfinite(difference).sum()) < 2:
        return best
    spread = difference_spread(difference, pair_errors.get(alternative))
    return alternative if float(np.nanmean(difference)) <= spread else best


def _verdicts(target, letter, how, best, headline, mean, spread, k, margin_a) -> dict:
    metric = METRIC_NAMES.get(headline, headline)
    figures = f"{metric} {mean:+.3f} ± {spread:.3f} over {k} folds" if k >= 2 else f"{k} fold(s)"
    figures_zh = f"{metric} {mean:+.3f} ± {spread:.3f}，{k}个回测折" if k >= 2 else f"{k}个回测折"
    en_best, zh_best = _name(best, target, 0), _name(best, target, 1)
    en = {
        "A": f"beats {en_best} in every fold by at least {margin_a:.2f}",
        "B": f"beats {en_best} on average by more than the spread between folds",
        "C": f"{how} against {en_best}",
    }[letter]
    zh = {
        "A": f"每个回测折均优于{zh_best}至少{margin_a:.2f}",
        "B": f"平均优于{zh_best}，且差距超过各折波动",
        "C": {"worse": f"不如{zh_best}", "no clear difference": f"与{zh_best}无明显差异"}.get(
            how, "回测折不足，无法判断"
        ),
    }[letter]
    return {
        "verdict_en": f"{letter}: {en} ({figures})",
        "verdict_zh": f"{letter}：{zh}（{figures_zh}）",
    }


def scorer_reason(target: str, scorer: str, choice: str, summary: dict) -> dict:
    """Which scorer production uses, and why, in both languages."""
    en, zh = _name(scorer, target, 0), _name(scorer, target, 1)
    if scorer == "blend":
        en, zh = _blend_name(summary, target)
    if choice != "auto":
        why_en, why_zh = f"set by {target}.scorer={choice}", f"由配置 {target}.scorer={choice} 指定"
    elif scorer == "blend":
        blend = summary["blend"]
        metric = METRIC_NAMES.get(summary["headline"], summary["headline"])
        why_en = (
            f"in the backtest it beats both the model and the baseline ({metric} "
            f"{blend['margin_mean']:+.3f} ± {blend['margin_spread']:.3f} over the better of the two)"
        )
        why_zh = (
            f"回测中优于模型和基准（比两者中较好者高{metric} {blend['margin_mean']:+.3f} ± "
            f"{blend['margin_spread']:.3f}）"
        )
    elif scorer == "model":
        why_en, why_zh = f"the model is graded {summary['grade']}", f"模型评级为{summary['grade']}"
    else:
        why_en = (
            f"the model is graded C ({summary['finding']}), so the best baseline scores instead"
        )
        why_zh = f"模型评级为C（{summary['verdict_zh'].split('：', 1)[-1]}），因此使用最佳基准评分"
    return {
        "scorer": scorer,
        "scorer_en": en,
        "scorer_zh": zh,
        "scorer_reason_en": f"scored with {en}: {why_en}",
        "scorer_reason_zh": f"使用{zh}评分：{why_zh}",
    }


def _blend_name(summary: dict, target: str) -> tuple[str, str]:
    best = summary.get("best_baseline")
    return (
        f"the blend of the model and {_name(best, target, 0)}",
        f"模型与{_name(best, target, 1)}的混合",
    )


def blend_judgement(
    target: str, headline: str, margins: list[float], errors: list[float], best: str | None
) -> dict:
    """Is the blend kept? Its margin over the better of the model and the best baseline in each
    fold (`margins`), and their bootstrap standard errors (`errors`): kept only when the mean
    margin exceeds the spread, like grade B. No weight is fitted, so there is one extra candidate,
    not a family of them to pick the luckiest from."""
    margins_ = np.asarray(margins, dtype=float)
    k = int(np.isfinite(margins_).sum())
    mean = float(np.nanmean(margins_)) if k else float("nan")
    spread = difference_spread(margins_, errors)
    kept = k >= 2 and mean > spread
    metric = METRIC_NAMES.get(headline, headline)
    en_best, zh_best = _name(best, target, 0), _name(best, target, 1)
    figures = f"{metric} {mean:+.3f} ± {spread:.3f} over {k} folds" if k >= 2 else f"{k} fold(s)"
    figures_zh = f"{metric} {mean:+.3f} ± {spread:.3f}，{k}个回测折" if k >= 2 else f"{k}个回测折"
    return {
        "kept": kept,
        "folds": k,
        "margins": [float(m) for m in margins_],
        "margin_mean": mean,
        "margin_spread": spread,
        "verdict_en": (
            f"the blend of the model and {en_best} "
            + ("beats both" if kept else "does not beat the better of the two")
            + f" by more than the spread ({figures})"
        ),
        "verdict_zh": (
            f"模型与{zh_best}的混合"
            + ("优于两者" if kept else "未能以超过波动的差距优于两者中较好者")
            + f"（{figures_zh}）"
        ),
    }


def verdict(summary: dict) -> str:
    """One line for people, e.g. "B: beats BG/NBD on average by more than the fold-to-fold spread (...)"."""
    return summary["verdict_en"]
