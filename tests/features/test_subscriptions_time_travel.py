"""No time travel in subscriber features: the export as it would have been on the cutoff day gives
the same features; rewriting everything after the cutoff changes no feature, only the labels."""

import numpy as np
import pandas as pd
import pytest

from tests.features.test_subscriptions import build, payments, subscriptions, usage

LABELS = ["churned", "future_value", "days_to_churn", "value_365d"]
CUTOFFS = ["2024-06-10", "2024-07-20"]


def as_of_then(cutoff: str) -> dict:
    """What the export would have held on the cutoff day: later spells and events absent, later
    ends not known yet, the status word of that day (anything: it is never read)."""
    c = pd.Timestamp(cutoff)
    subs = subscriptions()
    subs = subs[subs["start"] <= c].copy()
    subs.loc[subs["end"] > c, "end"] = pd.NaT
    subs["status"] = np.resize(["cancelled", "past_due", "trial"], len(subs))
    pay, use = payments(), usage()
    return dict(subs=subs, pay=pay[pay["ts"] <= c], use=use[use["ts"] <= c])


def rewritten_future(cutoff: str) -> dict:
    """Everything after the cutoff replaced: other ends, new spells, failed payments, no usage."""
    c = pd.Timestamp(cutoff)
    subs = subscriptions(
        [
            ("A1", "S9", "豪华", str((c + pd.Timedelta(days=3)).date()), None, 999.0, 1, 24),
            ("F6", "S10", "新套餐", str((c + pd.Timedelta(days=1)).date()), None, 30.0, 1, 0),
        ]
    )
    later = subs["end"] > c
    subs.loc[later, "end"] = c + pd.Timedelta(days=7)
    subs.loc[subs["end"].isna() & (subs["start"] <= c), "end"] = c + pd.Timedelta(days=30)
    pay, use = payments(), usage()
    pay.loc[pay["ts"] > c, "outcome"] = "failed"
    pay.loc[len(pay)] = ["B2", c + pd.Timedelta(days=2), 100.0, "late", "S2"]
    use.loc[use["ts"] > c, "quantity"] = 0.0
    use.loc[len(use)] = ["B2", c + pd.Timedelta(days=1), 50.0, "calls", ""]
    return dict(subs=subs, pay=pay, use=use)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    for column in a.columns:
        if isinstance(a[column].dtype, pd.CategoricalDtype):
            assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column
            assert list(a[column].cat.categories) == list(b[column].cat.categories), column
        else:  # exactly equal, not only close
            np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), column)


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_the_export_of_that_day_gives_the_same_features(cutoff):
    assert len(as_of_then(cutoff)["subs"]) < len(subscriptions())
    same(build(cutoff, labels=False), build(cutoff, labels=False, **as_of_then(cutoff)))


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_rewriting_the_future_changes_no_feature_but_the_labels(cutoff):
    same(build(cutoff, labels=False), build(cutoff, labels=False, **rewritten_future(cutoff)))
    before, after = build(cutoff)[LABELS], build(cutoff, **rewritten_future(cutoff))[LABELS]
    assert not before.equals(after)  # the rewrite did reach the labels


def test_the_last_event_on_or_before_a_cutoff_is_never_a_later_one():
    """The first customer's only event lies after the cutoff: no last day (it once read as that
    later day, e.g. 'last failed payment -43 days ago')."""
    from segml.features.events import Events

    events = Events(3, np.array([0, 1, 1, 2]), np.array([100, 10, 60, 40]), pd.DataFrame())
    last = events.last_day(np.array([0, 1, 2]), 50)
    np.testing.assert_array_equal(last, [np.nan, 10, 40])
    assert np.isnan(events.last_day(np.array([0]), 99)).all()
    assert events.last_day(np.array([0]), 100).tolist() == [100]
