"""Inference for linear models trained with scikit-learn, from plain arrays (no pickle).

Training (``routing.service.classifier.training``) fits a TF-IDF vectoriser and logistic regressions with
scikit-learn; what inference needs of them is copied into these classes: the vocabulary, the
inverse document frequencies, the coefficients and intercepts. They are saved as base64 arrays
inside gzipped JSON (:func:`encode_array` / :func:`decode_array`), so loading a model from the
database or the package never executes anything, and the same data give the same bytes.

Inference reproduces scikit-learn: binary term frequency × idf, normalised (see
:class:`Vectoriser`), then ``X @ coef.T + intercept`` and a softmax (or a sigmoid for two classes);
the coefficients are kept as float16, a rounding far below anything that decides.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def encode_array(values: npt.ArrayLike, dtype: str = "<f4") -> dict[str, Any]:
    """An array as JSON: dtype, shape and little-endian bytes in base64."""
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    return {"dtype": dtype, "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}


_SAFE_DTYPES = frozenset({"<f2", "<f4", "<f8"})


def decode_array(data: dict[str, Any]) -> FloatArray:
    """Inverse of :func:`encode_array` (numeric dtypes only: nothing else is ever decoded)."""
    dtype = str(data["dtype"])
    if dtype not in _SAFE_DTYPES:
        raise ValueError(f"refusing array dtype {dtype!r}")
    raw = base64.b64decode(data["b64"], validate=True)
    shape = tuple(int(n) for n in data["shape"])
    return np.frombuffer(raw, dtype=dtype).astype(np.float64).reshape(shape)


@dataclass(frozen=True)
class Vectoriser:
    """Terms → a TF-IDF row (binary tf) divided by ``max(its L2 norm, norm_floor)``.

    With ``norm_floor`` 0 this is ``TfidfVectorizer(binary=True, norm="l2")``. The floor keeps a
    two-word appeal from looking as sure as a paragraph: a short row is scaled down, not up.
    """

    vocabulary: tuple[str, ...]
    idf: FloatArray = field(compare=False)
    norm_floor: float = 0.0
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.vocabulary)})

    @property
    def size(self) -> int:
        """How many text features there are."""
        return len(self.vocabulary)

    def known(self, terms: Sequence[str]) -> list[int]:
        """Column indices of the terms the vocabulary knows, ascending and unique."""
        return sorted({self._index[t] for t in terms if t in self._index})

    def transform(self, terms: Sequence[str]) -> tuple[list[int], FloatArray]:
        """A sparse row: column indices and their TF-IDF values."""
        columns = self.known(terms)
        values = self.idf[columns] if columns else np.zeros(0)
        norm = float(np.sqrt(np.sum(values * values)))
        divisor = max(norm, self.norm_floor)
        return columns, (values / divisor if divisor > 0 else values)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "vocabulary": list(self.vocabulary),
            "idf": encode_array(self.idf),
            "norm_floor": self.norm_floor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vectoriser:
        """Inverse of :meth:`to_json`."""
        return cls(
            tuple(str(t) for t in data["vocabulary"]),
            decode_array(data["idf"]),
            float(data["norm_floor"]),
        )


@dataclass(frozen=True)
class LinearHead:
    """One logistic regression over the TF-IDF row: classes and weights."""

    classes: tuple[str, ...]
    coef: FloatArray = field(compare=False)  # (rows, features); one row for two classes
    intercept: FloatArray = field(compare=False)
    temperature: float = 1.0

    def scores(self, columns: Sequence[int], values: FloatArray) -> FloatArray:
        """Decision values of a sparse row (column indices and their values)."""
        text = self.coef[:, list(columns)] @ values if len(columns) else np.zeros(self.coef.shape[0])
        return np.asarray(text + self.intercept, dtype=np.float64)

    def log_proba(self, columns: Sequence[int], values: FloatArray) -> dict[str, float]:
        """Log probabilities per class."""
        return log_softmax_scores(self.classes, self.scores(columns, values), self.temperature)

    def contributions(
        self, columns: Sequence[int], values: FloatArray, chosen: str, against: str
    ) -> FloatArray:
        """How much each present text feature pushes ``chosen`` over ``against`` (for explanations)."""
        return values * (self._row(chosen, columns) - self._row(against, columns))

    def _row(self, label: str, columns: Sequence[int]) -> FloatArray:
        cols = list(columns)
        if self.coef.shape[0] == 1:  # binary: the single row favours classes[1]
            sign = 1.0 if label == self.classes[1] else -1.0
            return sign * self.coef[0, cols] / 2.0
        return np.asarray(self.coef[self.classes.index(label), cols], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """JSON form (coefficients as float16: a tenth of a percent is far below what matters)."""
        return {
            "classes": list(self.classes),
            "coef": encode_array(self.coef, "<f2"),
            "intercept": encode_array(self.intercept, "<f8"),
            "temperature": self.temperature,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearHead:
        """Inverse of :meth:`to_json`."""
        return cls(
            tuple(str(c) for c in data["classes"]),
            decode_array(data["coef"]),
            decode_array(data["intercept"]),
            float(data["temperature"]),
        )


def log_softmax_scores(
    classes: Sequence[str], scores: FloatArray, temperature: float = 1.0
) -> dict[str, float]:
    """Log probabilities from decision values; a single value is a binary sigmoid's (classes[1])."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    if z.shape[0] == 1:
        z = np.array([-z[0] / 2.0, z[0] / 2.0])
    z = z - np.max(z)
    log_p = z - np.log(np.sum(np.exp(z)))
    return {c: float(v) for c, v in zip(classes, log_p, strict=True)}
