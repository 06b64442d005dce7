"""What the gap between training and test accuracy says about a model.

* train accuracy below ``UNDERFIT_BELOW``: the model has not even learnt the images it saw —
  **underfitting** (too small, too little training);
* train accuracy high, but test accuracy more than ``OVERFIT_GAP`` below it: it learnt the
  training images rather than digits — **overfitting**;
* both high and close: it **generalises well**.
"""

from __future__ import annotations

__all__ = ["UNDERFIT_BELOW", "OVERFIT_GAP", "UNDERFITTING", "OVERFITTING", "GENERALISES", "DIAGNOSES", "diagnose"]

UNDERFIT_BELOW = 0.95
OVERFIT_GAP = 0.03

UNDERFITTING = "underfitting"
OVERFITTING = "overfitting"
GENERALISES = "generalises well"
#: The three cases, in the words a model's registered behaviour and a run's diagnosis both use.
DIAGNOSES = (UNDERFITTING, GENERALISES, OVERFITTING)


def diagnose(train_accuracy: float, test_accuracy: float) -> str:
    """One of ``UNDERFITTING``, ``OVERFITTING`` or ``GENERALISES`` for accuracies in [0, 1]."""
    for label, value in (("train_accuracy", train_accuracy), ("test_accuracy", test_accuracy)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{label} must be between 0 and 1, got {value!r}")
    if train_accuracy < UNDERFIT_BELOW:
        return UNDERFITTING
    if train_accuracy - test_accuracy > OVERFIT_GAP:
        return OVERFITTING
    return GENERALISES
