import pytest

from digitzoo.diagnosis import GENERALISES, OVERFIT_GAP, OVERFITTING, UNDERFIT_BELOW, UNDERFITTING, diagnose


@pytest.mark.parametrize(
    ("train", "test", "expected"),
    [
        (0.80, 0.79, UNDERFITTING),  # the tiny network: never learnt even what it saw
        (0.90, 0.60, UNDERFITTING),  # low train accuracy comes first, whatever the gap
        (1.00, 0.88, OVERFITTING),  # memorised 1 000 images
        (0.995, 0.978, GENERALISES),  # the 3×256 MLP
        (0.999, 0.993, GENERALISES),  # a CNN
        (0.97, 0.99, GENERALISES),  # dropout can make test beat train
    ],
)
def test_diagnose(train, test, expected):
    assert diagnose(train, test) == expected


def test_thresholds_are_the_boundaries():
    assert diagnose(UNDERFIT_BELOW - 1e-9, UNDERFIT_BELOW - 1e-9) == UNDERFITTING
    assert diagnose(UNDERFIT_BELOW, UNDERFIT_BELOW) == GENERALISES
    assert diagnose(1.0, 1.0 - OVERFIT_GAP + 1e-9) == GENERALISES
    assert diagnose(1.0, 1.0 - OVERFIT_GAP - 1e-9) == OVERFITTING


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_accuracies_must_be_fractions(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        diagnose(bad, 0.5)
