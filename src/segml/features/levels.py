"""A text column as integer codes into its distinct values (categories, channels, attributes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Levels:
    """A text column as integer codes (-1 = missing) into its distinct values."""

    codes: np.ndarray
    names: list[str]

    def recode(self, vocabulary: list[str]) -> np.ndarray:
        """Codes into `vocabulary` instead: -1 for values outside it, and for missing ones."""
        position = {name: i for i, name in enumerate(vocabulary)}
        lookup = np.array([position.get(name, -1) for name in self.names] + [-1], dtype=np.int64)
        return lookup[self.codes]  # code -1 (missing) picks the trailing -1


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """Text column as Arrow (zero-copy for pandas' default Arrow-backed strings)."""
    array = pa.array(values.astype("str"))
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def text_levels(values: pd.Series, order: np.ndarray | None = None) -> Levels:
    """One hash pass: codes into the distinct values (sorted, so codes never depend on row order),
    in `order` if given."""
    encoded = pc.dictionary_encode(arrow_text(values))
    if encoded.num_chunks == 0:
        return Levels(np.array([], np.int64), [])
    names = encoded.chunk(0).dictionary.to_pylist()  # one dictionary shared by all chunks
    rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    codes = np.r_[rank, -1][
        np.concatenate([pc.fill_null(chunk.indices, -1).to_numpy() for chunk in encoded.chunks])
    ]
    return Levels(codes if order is None else codes[order], sorted(names))
