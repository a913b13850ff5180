"""The champion challenge: do this run's scorers replace the registered champion set? The
champion is re-scored on this run's backtest folds (the export stage reads only their rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.errors import FeatureMismatchError
from segml.features.schedule import Schedule
from segml.models import evaluation as ev
from segml.models.sampling import labels, validation_rows
from segml.models.scorers import score


def fold_cutoffs(metrics: dict) -> list[pd.Timestamp]:
    """The cutoffs of this run's backtest folds (either model): the rows `challenge` re-scores."""
    return sorted(
        {pd.Timestamp(fold["cutoff"]) for m in metrics.values() for fold in m["folds"].values()}
    )


def challenge(
    champion: dict | None,
    labelled: pd.DataFrame,
    schedule: Schedule,
    metrics: dict,
    champion_horizon: int | None,
) -> tuple[bool, str]:
    """Should this run's models replace the champion set? The champion's churn and value scorers
    are re-scored on this run's backtest folds, beside this run's production scorers' fold results;
    the new set wins when neither of its headline means is below the champion's.

    The champion may have learnt from some of these folds' label windows, so the comparison leans
    its way: a new set that still wins is not worse. A champion of another churn horizon, or one
    that cannot read this run's features, is not comparable.
    """
    if champion is None:
        return True, "no champion yet"
    if champion_horizon != schedule.horizon_days:
        return False, (
            f"the champion predicts {champion_horizon} days ahead, this run "
            f"{schedule.horizon_days}: not comparable; promote by hand if intended"
        )
    lines, wins = [], True
    for target, headline in ev.TARGET_HEADLINE.items():
        produced = metrics[target]["production"]["scorer"]
        folds = metrics[target]["folds"]
        new, old = [], []
        for fold in folds.values():
            # the fold's customers that train measured on (valid_rows of them, by id hash)
            valid = validation_rows(
                labelled[labelled[s.CUTOFF] == pd.Timestamp(fold["cutoff"])].reset_index(drop=True),
                fold["valid_rows"],
            )
            y = labels(target, valid)
            try:
                old.append(ev.HEADLINE[headline](y, score(champion[target], valid)))
            except FeatureMismatchError:
                return (
                    True,
                    "the champion cannot score this run's features (settings changed): replaced",
                )
            new.append(fold[produced][headline])
        wins &= bool(np.mean(new) >= np.mean(old))
        lines.append(
            f"{target} {ev.METRIC_NAMES.get(headline, headline)} {np.mean(new):.3f} vs champion "
            f"{np.mean(old):.3f}"
        )
    return wins, (
        "beats" if wins else "does not beat"
    ) + " the champion on this run's folds: " + "; ".join(lines)
