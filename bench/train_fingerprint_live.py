"""Fit the live fingerprint model (``quality/models/fingerprint_live.json``) to NIST NFIQ 2.

    python -m bench.train_fingerprint_live [--calibration DIR] [--out FILE]

The examples are real prints (the calibration set's plain live-scan and ink prints, scored by
NIST's NFIQ 2 binary; latents are out of NFIQ 2's scope), the same prints degraded the way a
capture goes wrong (blur, motion, light and heavy pressure, noise, dry and wet skin, half a
finger off the platen) and the simulator's prints at graded faults, the last two scored by
NFIQ 2 through nbis-python, which reproduces NIST's binary. The model is scikit-learn's
gradient-boosted regression trees, written out as plain arrays that
``quality.fingerprint.TreeModel`` evaluates without scikit-learn.

:func:`cross_validate` refits it with every print's family (the print and its degraded copies)
held out in turn, which is how well it can be expected to do on prints it has not seen.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.agreement_fingerprint import load_prints, spearman
from bench.calibration import calibration_dir
from quality.config import FingerprintConfig
from quality.fingerprint import MODEL_PATH, live_features
from quality.nfiq2 import nfiq2

# scikit-learn's GradientBoostingRegressor settings: shallow trees, slow learning rate.
TREES = 500
DEPTH = 3
RATE = 0.03
SUBSAMPLE = 0.8
FOLDS = 5
# Untouched prints count this many times a degraded copy: the score must rank prints first.
ORIGINAL_WEIGHT = 3.0


@dataclass
class Example:
    family: str  # the print it came from: a family is held out together
    variant: str
    features: dict[str, float]
    nfiq2: int


def degraded(image: np.ndarray, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """The print as captures go wrong."""
    grey = image.astype(np.float32)
    platen = np.uint8(np.percentile(image, 97))
    yield "blur_1.5", cv2.GaussianBlur(image, (0, 0), 1.5)
    yield "blur_3", cv2.GaussianBlur(image, (0, 0), 3)
    yield "motion", cv2.filter2D(image, -1, np.ones((1, 9), np.float32) / 9)
    yield "light", np.clip(255 - (255 - grey) * 0.45, 0, 255).astype(np.uint8)
    yield "heavy", np.clip(grey * 0.55, 0, 255).astype(np.uint8)
    yield "noise", np.clip(grey + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    half = image.copy()
    half[:, : image.shape[1] // 2] = platen
    yield "half", half
    yield "dry", cv2.dilate(image, np.ones((3, 3), np.uint8))
    yield "wet", cv2.erode(image, np.ones((3, 3), np.uint8))


def simulated() -> Iterator[tuple[str, str, np.ndarray]]:
    """(family, variant, image) of the simulator's prints, clean and at graded faults."""
    from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture

    faults = ("dryness", "smudge", "scars", "wear", "partial")
    for seed in range(40, 52):
        spec = FingerSpec.random(seed)
        family = f"simulated/{seed}"
        yield family, "clean", quantise_4bit(render_capture(spec, 0))
        for index, fault in enumerate(faults):
            level = (0.25, 0.5, 0.75, 1.0)[(seed + index) % 4]
            yield family, f"{fault}_{level}", render_capture(spec, 1, FingerKnobs(**{fault: level}))
        for pressure in (-0.6, 0.6):
            yield family, f"pressure_{pressure}", render_capture(
                spec, 2, FingerKnobs(pressure=pressure)
            )


def examples(calibration: Path) -> list[Example]:
    """Every training example, labelled by NFIQ 2."""
    rng = np.random.default_rng(7)
    found: list[Example] = []
    for file, image, nist in load_prints(calibration / "fingerprint"):
        found.append(Example(file, "original", live_features(image), nist))
        for variant, copy in degraded(image, rng):
            found.append(Example(file, variant, live_features(copy), nfiq2(copy).score))
    for family, variant, image in simulated():
        found.append(Example(family, variant, live_features(image), nfiq2(image).score))
    return found


def _matrix(found: list[Example], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[e.features[name] for name in names] for e in found])
    return x, np.array([e.nfiq2 for e in found], dtype=float)


def _weights(found: list[Example]) -> np.ndarray:
    return np.array([ORIGINAL_WEIGHT if e.variant == "original" else 1.0 for e in found])


def _regressor():
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, subsample=SUBSAMPLE,
        random_state=0,
    )


def cross_validate(
    found: list[Example], live_threshold: int = 35, nfiq2_threshold: int = 35
) -> dict[str, float]:
    """Held-out agreement with NFIQ 2: each family predicted by a model fitted without it."""
    from sklearn.model_selection import GroupKFold

    names = sorted(found[0].features)
    x, y = _matrix(found, names)
    families = np.array([e.family for e in found])
    predicted = np.zeros(len(y))
    weights = _weights(found)
    for train, test in GroupKFold(FOLDS).split(x, y, families):
        model = _regressor().fit(x[train], y[train], sample_weight=weights[train])
        predicted[test] = model.predict(x[test])
    real = np.array([not e.family.startswith("simulated/") for e in found])
    original = np.array([e.variant == "original" for e in found])
    within = [
        spearman(list(predicted[families == f]), list(y[families == f]))
        for f in np.unique(families[real])
    ]
    agree = (predicted[original] >= live_threshold) == (y[original] >= nfiq2_threshold)
    return {
        "original_prints_spearman": spearman(list(predicted[original]), list(y[original])),
        "original_prints_decision_agreement": float(agree.mean()),
        "real_and_degraded_spearman": spearman(list(predicted[real]), list(y[real])),
        "within_print_median_spearman": float(np.nanmedian(within)),
        "original_prints": int(original.sum()),
        "examples": len(found),
    }


def native_measures_ceiling(calibration: Path) -> float:
    """Held-out Spearman of the same trees fitted on NFIQ 2's own 69 native quality measures
    (its random forest's exact inputs, minutiae included) of the original prints: about as
    well as any model fitted on these prints alone can rank prints it has not seen."""
    from sklearn.model_selection import KFold

    prints = load_prints(calibration / "fingerprint")
    measured = [nfiq2(image) for _file, image, _nist in prints]
    names = sorted(measured[0].native)
    x = np.array([[m.native.get(name, 0.0) for name in names] for m in measured])
    y = np.array([nist for _file, _image, nist in prints], dtype=float)
    predicted = np.zeros(len(y))
    for train, test in KFold(FOLDS, shuffle=True, random_state=0).split(x):
        predicted[test] = _regressor().fit(x[train], y[train]).predict(x[test])
    return spearman(list(predicted), list(y))


def fit(found: list[Example]) -> dict:
    """The fitted model as the JSON ``quality.fingerprint.TreeModel`` reads."""
    names = sorted(found[0].features)
    x, y = _matrix(found, names)
    model = _regressor().fit(x, y, sample_weight=_weights(found))
    trees = []
    for (estimator,) in model.estimators_:
        tree = estimator.tree_
        trees.append({
            "feature": [int(v) for v in tree.feature],
            "threshold": [round(float(v), 6) for v in tree.threshold],
            "left": [int(v) for v in tree.children_left],
            "right": [int(v) for v in tree.children_right],
            "value": [round(float(v), 6) for v in tree.value[:, 0, 0]],
        })
    return {
        "features": names,
        "base": float(model.init_.constant_[0][0]),
        "rate": RATE,
        "trees": trees,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    calibration = args.calibration or calibration_dir()
    found = examples(calibration)
    config = FingerprintConfig()
    held_out = cross_validate(found, config.min_score, config.min_nfiq2)
    model = fit(found)
    model["about"] = {
        "target": "NIST NFIQ 2 v2.3.0 unified score (model nist_plain_tir-ink)",
        "trees": f"{TREES} gradient-boosted regression trees of depth {DEPTH}, rate {RATE}",
        "held_out": {k: round(v, 3) if isinstance(v, float) else v for k, v in held_out.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    print(json.dumps(model["about"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
