"""Segments: log-scaled, standardised features -> KMeans -> persona names from config.

Personas are assigned by matching each cluster's rank profile (0 = worst cluster, 1 = best, on
recency, frequency, monetary and tenure; for subscribers on fee, tenure, products, payments,
contract and usage) to the configured persona profiles with the Hungarian algorithm, so every
cluster gets a distinct, explainable name.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from segml.config import SegmentConfig
from segml.data import schema as s

# persona profile dimension -> (feature, higher value is better?); a dimension whose feature the
# customers lack is no dimension (purchases have no monthly fee, subscribers no recency)
PROFILE_DIMENSIONS = {
    "recency": ("recency_days", False),
    "frequency": ("frequency", True),
    "monetary": ("monetary_total", True),
    "tenure": ("tenure_days", True),
}
# subscribers' dimensions, among their segment features (segml.features.subscriber_names
# .segment_features: never read beside them); those whose feature names a window or a usage kind
# are the first segment feature that matches (payments: 1 = the fewest failed payments)
SUBSCRIBER_DIMENSIONS = {
    "fee": ("mrr", True),
    "products": ("n_products", True),
    "contract": ("contract_months", True),
}
PATTERN_DIMENSIONS = {
    "payments": (re.compile(r"failed_payments_\d+d"), False),
    "usage": (re.compile(r"usage_\d+d__.+"), True),
}


class Segmenter:
    """scikit-learn-shaped clustering of customers into named segments."""

    def __init__(
        self,
        features: list[str],
        k: int | str = "auto",
        k_range: tuple[int, int] = (4, 8),
        log_scale: bool = True,
        n_init: int = 10,
        silhouette_sample: int = 5000,
        personas: dict | None = None,
        random_state: int = 42,
    ):
        self.features = features
        self.k = k
        self.k_range = k_range
        self.log_scale = log_scale
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.personas = personas
        self.random_state = random_state

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.features].to_numpy(dtype=float)
        if self.log_scale:  # RFM is heavy-tailed; signed log keeps refund-driven negatives ordered
            values = np.sign(values) * np.log1p(np.abs(values))
        return values

    def _sample(self, n: int) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        return rng.choice(n, size=min(n, self.silhouette_sample), replace=False)

    def fit(self, frame: pd.DataFrame) -> Segmenter:
        X = self._matrix(frame)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        sample = self._sample(len(Z))
        candidates = (
            range(self.k_range[0], self.k_range[1] + 1) if self.k == "auto" else [int(self.k)]
        )
        self.silhouette_by_k_ = {}
        best = None
        for k in candidates:
            if k >= len(Z):
                continue
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Z)
            labels = km.labels_[sample]
            score = float(silhouette_score(Z[sample], labels)) if len(set(labels)) > 1 else -1.0
            self.silhouette_by_k_[k] = score
            if best is None or score > best[0]:
                best = (score, k, km)
        if (
            best is None
        ):  # fewer customers than segments asked for: one segment, named like any other
            km = KMeans(n_clusters=1, n_init=1, random_state=self.random_state).fit(Z)
            best = (float("nan"), 1, km)
        self.silhouette_, self.k_, self.kmeans_ = best
        self._name_clusters(frame, self.kmeans_.labels_)
        return self

    def _dimensions(self, frame: pd.DataFrame) -> dict[str, tuple[str, bool]]:
        """The profile dimensions these customers have: dimension -> (feature, higher is better)."""
        named = {**PROFILE_DIMENSIONS, **SUBSCRIBER_DIMENSIONS}
        found = {dim: spec for dim, spec in named.items() if spec[0] in frame}
        for dim, (pattern, higher_is_better) in PATTERN_DIMENSIONS.items():
            column = next((f for f in self.features if pattern.fullmatch(f) and f in frame), None)
            if column:
                found[dim] = (column, higher_is_better)
        return found

    def _name_clusters(self, frame: pd.DataFrame, labels: np.ndarray) -> None:
        k = self.k_
        dimensions = self._dimensions(frame)
        medians = pd.DataFrame(
            {dim: frame[col].groupby(labels).median() for dim, (col, _) in dimensions.items()}
        ).reindex(range(k))
        ranks = pd.DataFrame(index=medians.index)
        for dim, (_, higher_is_better) in dimensions.items():
            if dim in medians:
                r = medians[dim].rank(method="average", ascending=higher_is_better)
                ranks[dim] = (r - 1) / max(k - 1, 1)
        personas = self.personas or {}
        keys = list(personas)
        # a cluster no persona is left for (more clusters than personas) is named by its number
        names = {c: (f"segment_{c}", f"Group {c + 1}", f"客户群{c + 1}") for c in range(k)}
        if keys:
            cost = np.zeros((k, len(keys)))
            for j, key in enumerate(keys):
                for dim, target in personas[key].get("profile", {}).items():
                    if dim in ranks:
                        cost[:, j] += (ranks[dim].to_numpy() - float(target)) ** 2
            rows, cols = linear_sum_assignment(cost)
            for c, j in zip(rows, cols):
                p = personas[keys[j]]
                names[c] = (keys[j], p.get("en", keys[j]), p.get("zh", keys[j]))
        self.cluster_names_ = names
        self.cluster_ranks_ = ranks

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.kmeans_.predict(self.scaler_.transform(self._matrix(frame)))

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """customer_id, segment (cluster id), persona key and its English and Chinese names."""
        cluster = self.predict(frame)
        names = [self.cluster_names_[c] for c in cluster]
        return pd.DataFrame(
            {
                s.CUSTOMER_ID: frame[s.CUSTOMER_ID].to_numpy(),
                "segment": cluster.astype(np.int64),
                "persona": [n[0] for n in names],
                "persona_en": [n[1] for n in names],
                "persona_zh": [n[2] for n in names],
            }
        )


def profile(
    frame: pd.DataFrame,
    assigned: pd.DataFrame,
    features: list[str],
    attributes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Size, share and mean features (original units) per segment; then each typed customer
    attribute the frame has (`attributes`: feature -> "mean" for a number or a date's days,
    "share" for a yes/no, whose mean is the share of yes)."""
    extra = {f: how for f, how in (attributes or {}).items() if f in frame and f not in features}
    joined = frame[[s.CUSTOMER_ID, *features, *extra]].merge(assigned, on=s.CUSTOMER_ID)
    grouped = joined.groupby(["segment", "persona", "persona_en", "persona_zh"], sort=True)
    out = grouped[features].mean().add_prefix("mean_")
    for feature, how in extra.items():
        out[f"{how}_{feature}"] = grouped[feature].mean()
    out.insert(0, "customers", grouped.size())
    out.insert(1, "share", out["customers"] / len(joined))
    return out.reset_index()


def stability(frame: pd.DataFrame, fitted: Segmenter, n_seeds: int) -> float:
    """Mean adjusted Rand index between the fitted labels and refits with other seeds."""
    if n_seeds <= 0:
        return float("nan")
    base = fitted.predict(frame)
    scores = []
    for seed in range(1, n_seeds + 1):
        other = Segmenter(
            fitted.features,
            fitted.k_,
            fitted.k_range,
            fitted.log_scale,
            fitted.n_init,
            fitted.silhouette_sample,
            fitted.personas,
            fitted.random_state + seed,
        ).fit(frame)
        scores.append(adjusted_rand_score(base, other.predict(frame)))
    return float(np.mean(scores))


def fit_sample(snapshot: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
    """The customers KMeans learns from: everyone, or a seeded random `size` of them (centres
    settle long before a million points; everyone is assigned to them afterwards)."""
    if not size or len(snapshot) <= size:
        return snapshot
    rows = np.sort(np.random.default_rng(seed).choice(len(snapshot), size=size, replace=False))
    return snapshot.iloc[rows].reset_index(drop=True)


def segment_columns(cfg: SegmentConfig) -> list[str]:
    """The snapshot columns the segment stage reads: ids, the clustering features and the
    dimensions personas are named by (a few of the snapshot's many)."""
    named = [column for column, _ in PROFILE_DIMENSIONS.values()]
    return list(dict.fromkeys([s.CUSTOMER_ID, *cfg.features, *named]))


def segment_customers(
    snapshot: pd.DataFrame, cfg: SegmentConfig, seed: int, attributes: dict[str, str] | None = None
):
    """The segment stage: fit on the scoring snapshot (or a sample of it), assign everyone,
    profile (with the typed `attributes`, see `profile`), measure."""
    learn = fit_sample(snapshot, cfg.fit_sample, seed)
    seg = Segmenter(
        list(cfg.features),
        cfg.k,
        tuple(cfg.k_range),
        cfg.log_scale,
        cfg.n_init,
        cfg.silhouette_sample,
        dict(cfg.personas),
        seed,
    ).fit(learn)
    assigned = seg.assign(snapshot)
    metrics = {
        "k": int(seg.k_),
        "fit_customers": len(learn),
        "silhouette": seg.silhouette_,
        "stability_ari": stability(learn, seg, cfg.stability_seeds),
        "silhouette_by_k": {str(k): v for k, v in seg.silhouette_by_k_.items()},
        "sizes": {
            name: int(n) for name, n in assigned["persona"].value_counts().sort_index().items()
        },
    }
    return seg, assigned, profile(snapshot, assigned, list(cfg.features), attributes), metrics
