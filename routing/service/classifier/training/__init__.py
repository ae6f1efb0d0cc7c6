"""Training, cross-validation, validation and scoring of the triage model (pure: data in, model out).

``fit`` trains the vectoriser and the three logistic regressions (scikit-learn) on every example
given and copies what inference needs into a :class:`TriageModel`. ``tune`` chooses the fusion
(kind weight, calibration temperature, urgency thresholds) and the manual-queue thresholds on
out-of-fold predictions of k-fold cross-validation over the training examples. ``split`` draws the
validation split (stratified, seeded) that ``guanjia routing train`` gates a retrain on. No
evaluation file is ever passed here: the independent set is only read by ``bench.judgement_triage``.

The hyper-parameters in :class:`Hyper` (regularisation, class weights, document frequency, norm)
were chosen by cross-validation on the training files during development; ``tune`` does not
search them, so a retrain takes seconds.

One concern a module: `preparation` (examples read once), `fitting` (the heads and the model),
`validation` (the figures) and `tuning` (cross-validation, the training run, the validation split).
Import from this package: it re-exports the public names.
"""

from __future__ import annotations

from routing.service.classifier.training.fitting import HYPER, Hyper, fit, fit_heads
from routing.service.classifier.training.preparation import (
    Prepared,
    caller_words,
    prepare,
    with_received_calls,
)
from routing.service.classifier.training.tuning import (
    AUTO_PRECISION,
    EMERGENCY_RECALL,
    FOLDS,
    KIND_FLOOR,
    SEED,
    URGENCY_ACCURACY,
    VALIDATION_SHARE,
    Tuning,
    choose_fusion,
    choose_thresholds,
    folds,
    out_of_fold,
    split,
    train,
    tune,
)
from routing.service.classifier.training.validation import Metrics, metrics, score

__all__ = [
    "AUTO_PRECISION",
    "EMERGENCY_RECALL",
    "FOLDS",
    "HYPER",
    "KIND_FLOOR",
    "SEED",
    "URGENCY_ACCURACY",
    "VALIDATION_SHARE",
    "Hyper",
    "Metrics",
    "Prepared",
    "Tuning",
    "caller_words",
    "choose_fusion",
    "choose_thresholds",
    "fit",
    "fit_heads",
    "folds",
    "metrics",
    "out_of_fold",
    "prepare",
    "score",
    "split",
    "train",
    "tune",
    "with_received_calls",
]
