"""How much each behaviour moves a customer's score: model contributions summed per behaviour group.

Exact contributions are LightGBM's own TreeSHAP, per feature. They cost a fraction of a
millisecond per customer and model, so above `tiering.reasons.max_customers` they go to the
customers people read first (`explained`); everyone else's are estimated from each feature's
average effect (`Guide`): the mean exact contribution per bin of the feature's values, over an
evenly spaced sample of `tiering.reasons.sample_customers` customers. On the demo the estimate and
the exact drivers agree on the strongest behaviour for 96 % of customers and on the direction of
the top three for 99 %; an estimate costs a table lookup per feature.

A feature that is a product of two others (`tiering.reasons.products`: BG/NBD's expected value =
expected purchases x spend per purchase) gives its contribution to the two factors' groups, in
proportion to how far each factor is from the sample's typical customer on a log scale: a customer
whose expected value is low because they stopped buying has it counted to the gap since their last
purchase, one who spends little per order to their spend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.tiering.behaviour import Facts, reference_ranks
from segml.tiering.reasons import ReasonBook

BINS = 32
TINY = 1e-9


def sample_positions(n: int, size: int | None) -> np.ndarray:
    """`size` evenly spaced row positions of `n` customers in id order (all when fewer): the same
    customers whichever engine or partitioning scores them."""
    if not size or n <= size:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, size).round().astype(np.int64))


def exact(model) -> bool:
    """Whether the scorer's own contributions cost little for everyone (a baseline rule's one
    driver), so no estimate is needed."""
    return not hasattr(model, "booster_")


@dataclass(frozen=True)
class Effect:
    """A feature's average contribution per bin of its values (or per category)."""

    edges: np.ndarray | None  # inner bin edges; None for a categorical feature
    means: np.ndarray  # per bin (or category code); one more for missing values

    def __call__(self, values: pd.Series) -> np.ndarray:
        if self.edges is None:
            codes = values.cat.codes.to_numpy()
            codes = np.where(
                (codes < 0) | (codes >= len(self.means) - 1), len(self.means) - 1, codes
            )
            return self.means[codes]
        x = values.to_numpy(dtype=float, na_value=np.nan)
        bins = np.searchsorted(self.edges, x, side="right")
        return self.means[np.where(np.isnan(x), len(self.means) - 1, bins)]


def _effect(values: pd.Series, contribution: np.ndarray) -> Effect:
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        size = len(values.cat.categories) + 1
        codes = np.where(codes < 0, size - 1, codes)
        edges = None
    else:
        x = values.to_numpy(dtype=float, na_value=np.nan)
        known = x[~np.isnan(x)]
        edges = (
            np.unique(np.quantile(known, np.linspace(0, 1, BINS + 1)[1:-1]))
            if len(known)
            else np.array([])
        )
        size = len(edges) + 2
        codes = np.where(np.isnan(x), size - 1, np.searchsorted(edges, x, side="right"))
    total = np.bincount(codes, weights=contribution, minlength=size)
    count = np.bincount(codes, minlength=size)
    return Effect(edges, np.where(count > 0, total / np.maximum(count, 1), 0.0))


@dataclass(frozen=True)
class Guide:
    """What reasons need from the whole population, fitted on an evenly spaced sample: each
    product factor's typical log value, and (when not everyone gets exact contributions) each
    target's per-feature average effects."""

    typical: dict[str, float] = field(default_factory=dict)
    effects: dict[str, dict[str, Effect]] = field(default_factory=dict)
    # sorted sample values of the facts said against other customers (`behaviour.RANKED`)
    ranks: dict[str, np.ndarray] = field(default_factory=dict)


def fit_guide(
    sample: pd.DataFrame,
    contributions: dict[str, pd.DataFrame],
    models: dict,
    book: ReasonBook,
    facts: Facts | None = None,
) -> Guide:
    """From the sample's snapshot rows and, per target, their exact contributions (none when
    everyone is explained exactly). `models` gives each target's scorer (for its input matrix);
    `facts` are the sample's behaviour facts, the reference other customers are ranked against."""
    factors = {f for pair in book.products.values() for f in pair if f in sample}
    typical = {
        f: float(np.nanmedian(np.log(np.maximum(sample[f].to_numpy(dtype=float), TINY))))
        if len(sample)
        else 0.0
        for f in sorted(factors)
    }
    effects = {}
    for target, frame in contributions.items():
        matrix = models[target].matrix(sample)
        effects[target] = {
            feature: _effect(matrix[feature], frame[feature].to_numpy(dtype=float))
            for feature in frame.columns
        }
    return Guide(typical, effects, reference_ranks(facts) if facts is not None else {})


class Grouping:
    """Sums per-feature contributions of one model's features into the book's groups."""

    def __init__(self, features: list[str], book: ReasonBook, guide: Guide):
        self.book, self.guide = book, guide
        self.features = list(features)
        self.group = {f: book.group_of(f) for f in self.features}
        self.products = {
            f: pair
            for f, pair in book.products.items()
            if f in self.group and all(book.group_of(x) >= 0 for x in pair)
        }

    def add(self, out: np.ndarray, feature: str, contribution: np.ndarray, frame) -> None:
        """Add one feature's contributions (for `frame`'s rows) into `out` (rows x groups)."""
        if feature in self.products:
            a, b = self.products[feature]
            spread = [
                np.abs(
                    np.log(np.maximum(frame[x].to_numpy(dtype=float, na_value=0.0), TINY))
                    - self.guide.typical.get(x, 0.0)
                )
                for x in (a, b)
            ]
            total = spread[0] + spread[1]
            share = np.where(total > 0, spread[0] / np.maximum(total, TINY), 0.5)
            out[:, self.book.group_of(a)] += contribution * share
            out[:, self.book.group_of(b)] += contribution * (1 - share)
        elif self.group[feature] >= 0:
            out[:, self.group[feature]] += contribution


def group_contributions(
    model, snap: pd.DataFrame, explained: np.ndarray, target: str, book: ReasonBook, guide: Guide
) -> np.ndarray:
    """Customers x groups: exact contributions where `explained` (everyone for a baseline rule),
    average effects (`guide`) elsewhere."""
    out = np.zeros((len(snap), len(book.groups)))
    if not len(snap):
        return out
    effects = guide.effects.get(target)
    if exact(model) or effects is None:
        explained = np.ones(len(snap), dtype=bool)
    if explained.any():
        rows = snap[explained]
        contrib = model.contributions(rows)
        grouping = Grouping(list(contrib.columns), book, guide)
        part = np.zeros((len(rows), len(book.groups)))
        for feature in contrib.columns:
            grouping.add(part, feature, contrib[feature].to_numpy(dtype=float), rows)
        out[explained] = part
    if not explained.all():
        rows = snap[~explained]
        matrix = model.matrix(rows)
        grouping = Grouping(list(effects), book, guide)
        part = np.zeros((len(rows), len(book.groups)))
        for feature, effect in effects.items():
            grouping.add(part, feature, effect(matrix[feature]), rows)
        out[~explained] = part
    return out
