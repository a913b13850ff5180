"""The champion challenge: do this run's scorers replace the registered champion set?

Fair ground only: the champion learnt from labels up to its own `as_of` (its refit's newest label
window ends there), so it is compared on this run's backtest folds whose label window starts on or
after that date, where neither set has seen the outcome. There, the champion's production scorers
and this run's fold scorers (trained on earlier windows only: `fold_scores`) score the same
customers. The new set is promoted when it is better by more than the noise (the bootstrap
standard error of the difference, as the grade measures it), or when it is as good within the
noise and fresher (a later `as_of`); so an older or equal set never displaces the champion and two
equal sets do not take turns. Without a fair fold the champion is kept and the reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.errors import FeatureMismatchError
from segml.features.schedule import Schedule
from segml.models import evaluation as ev
from segml.models.sampling import labels, validation_rows
from segml.models.scorers import score


@dataclass(frozen=True)
class Champion:
    """What the challenge needs of the champion set: its scorers and its own record."""

    models: dict  # "churn", "upside": segml scorers
    as_of: str | None  # its training labels end here
    horizon_days: int | None  # the churn window it predicts


def fold_cutoffs(metrics: dict) -> list[pd.Timestamp]:
    """The cutoffs of this run's backtest folds (either model)."""
    return sorted(
        {pd.Timestamp(fold["cutoff"]) for m in metrics.values() for fold in m["folds"].values()}
    )


def fair_cutoffs(metrics: dict, champion_as_of: str | None) -> list[pd.Timestamp]:
    """This run's fold cutoffs on or after the end of the champion's training labels: folds whose
    label window neither set has learnt from (the rows `challenge` reads)."""
    if not champion_as_of:
        return []
    return [c for c in fold_cutoffs(metrics) if c >= pd.Timestamp(champion_as_of)]


def _day(value) -> str:
    return str(pd.Timestamp(value).date())


def challenge(
    champion: Champion | None,
    labelled: pd.DataFrame | None,
    fold_scores: pd.DataFrame | None,
    schedule: Schedule,
    metrics: dict,
    as_of: str,
) -> tuple[bool, str]:
    """Should this run's set (as of `as_of`) replace the champion? `labelled`: this run's rows of
    the fair folds (`fair_cutoffs`); `fold_scores`: its fold scorers' scores there (train's
    `fold_scores`). Returns the decision and the reason in plain words (what the recorded run
    says after "promoted ...:" or "kept the champion set:")."""
    if champion is None:
        return True, "no champion yet"
    if champion.horizon_days != schedule.horizon_days:
        return False, (
            f"the champion predicts {champion.horizon_days} days ahead, this run "
            f"{schedule.horizon_days}: not comparable; promote by hand if intended"
        )
    fair = fair_cutoffs(metrics, champion.as_of)
    if not fair or labelled is None or fold_scores is None:
        newest = fold_cutoffs(metrics)
        starts = f"starts {_day(newest[-1])}" if newest else "is missing"
        return False, (
            f"no fair comparison yet (the champion learnt from labels up to {champion.as_of}; "
            f"this run's newest backtest fold {starts}, so neither set can be measured on "
            "outcomes both have not seen)"
        )
    lines, verdicts = [], []
    for target, headline in ev.TARGET_HEADLINE.items():
        try:
            found = _compare(champion.models[target], target, headline, fair, labelled, fold_scores)
        except FeatureMismatchError:
            return (
                True,
                "the champion cannot score this run's features (settings changed)",
            )
        if found is None:
            continue
        new, old, margin, noise = found
        verdicts.append((margin, noise))
        lines.append(
            f"{target} {ev.METRIC_NAMES.get(headline, headline)} {new:.3f} vs champion "
            f"{old:.3f} ({margin:+.3f} ± {noise:.3f})"
        )
    where = f"on {len(fair)} fold(s) from {_day(fair[0])}, after the champion's labels end"
    detail = "; ".join(lines) if lines else "nothing to measure"
    if not verdicts:
        return False, f"no fair comparison yet ({where}: {detail})"
    if any(m < -n for m, n in verdicts):
        return False, f"worse than the champion by more than the noise {where}: {detail}"
    if any(m > n for m, n in verdicts):
        return True, f"beats the champion by more than the noise {where}: {detail}"
    if champion.as_of is None or as_of > champion.as_of:
        return True, (
            f"as good as the champion within the noise and fresher (as of {as_of}, the champion "
            f"{champion.as_of}) {where}: {detail}"
        )
    return False, f"as good as the champion within the noise, not fresher {where}: {detail}"


def _compare(
    champion,
    target: str,
    headline: str,
    fair: list[pd.Timestamp],
    labelled: pd.DataFrame,
    fold_scores: pd.DataFrame,
) -> tuple[float, float, float, float] | None:
    """Mean headline of this run's fold scorers and of the champion on the fair folds, the mean
    margin and its noise: the fold-to-fold spread, or, when larger, the mean bootstrap standard
    error of the margin within a fold (`evaluation.margin_standard_error`)."""
    ours = fold_scores[fold_scores["target"] == target]
    new, old, errors = [], [], []
    for cutoff in fair:
        fold = ours[ours[s.CUTOFF] == cutoff]
        if fold.empty:
            continue
        rows = labelled[labelled[s.CUTOFF] == cutoff].reset_index(drop=True)
        valid = validation_rows(rows, len(fold))  # the customers train measured the fold on
        by_id = fold.set_index(s.CUSTOMER_ID)["score"]
        mine = by_id.reindex(valid[s.CUSTOMER_ID]).to_numpy(dtype=float)
        if np.isnan(mine).any():  # another population: not the fold train measured
            continue
        y = labels(target, valid)
        if (target == "churn" and len(np.unique(y)) < 2) or y.sum() <= 0:
            continue
        theirs = np.asarray(score(champion, valid), dtype=float)
        new.append(ev.HEADLINE[headline](y, mine))
        old.append(ev.HEADLINE[headline](y, theirs))
        errors.append(ev.margin_standard_error(headline, y, mine, theirs, seed=len(new)))
    if not new:
        return None
    margins = np.asarray(new) - np.asarray(old)
    noise = float(np.nanmean(errors)) if np.isfinite(errors).any() else 0.0
    if len(margins) > 1:
        noise = max(noise, float(np.std(margins, ddof=1)))
    return float(np.mean(new)), float(np.mean(old)), float(np.mean(margins)), noise
