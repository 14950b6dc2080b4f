"""Benchmark of the trainer: time to fit the default network, pixelnet against scikit-learn.

Both fit the same data (the 4,008-sample generated training set) with Adam and
their own stopping rule, and each fit must reach the goal: 100% on the eight
clean patterns and >= 99% on the held-out noisy set. Contenders alternate
within each repetition (same seed for all in a repetition), so a busy machine
slows them alike; we report the median time of each and the ratio of medians.

scikit-learn's MLPClassifier has one activation for all hidden layers, so it
runs 4-4-8 tanh; pixelnet runs its default (tanh, tanh, relu) and, like for
like, tanh throughout.

    python -m pixelnet.bench.bench_train [--quick] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from pixelnet.trainer.data import noisy_test_set, training_set
from pixelnet.trainer.estimator import PixelnetClassifier
from pixelnet.trainer.patterns import clean_patterns

TARGET_SPEEDUP = 10.0
REPETITIONS = 7
QUICK_REPETITIONS = 3

Fitter = Callable[[int], Any]  # seed -> a fitted classifier with predict and n_iter_


def contenders(x: np.ndarray, y: np.ndarray) -> dict[str, Fitter]:
    def sklearn_tanh(seed: int) -> MLPClassifier:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier((4, 4, 8), activation="tanh", solver="adam",
                                 random_state=seed, max_iter=500).fit(x, y)

    return {
        "pixelnet tanh,tanh,relu (default)": lambda seed: PixelnetClassifier(
            random_state=seed).fit(x, y),
        "pixelnet tanh,tanh,tanh": lambda seed: PixelnetClassifier(
            activations="tanh", random_state=seed).fit(x, y),
        "scikit-learn MLPClassifier tanh": sklearn_tanh,
    }


def reaches_goal(clf: Any) -> bool:
    """100% on the clean patterns and >= 99% on the held-out noisy set."""
    clean_x, clean_y = clean_patterns()
    noisy_x, noisy_y = noisy_test_set()
    return bool(np.all(clf.predict(clean_x) == clean_y)
                and np.mean(clf.predict(noisy_x) == noisy_y) >= 0.99)


def run(quick: bool = False) -> dict[str, Any]:
    """Time every contender ``REPETITIONS`` times, alternating; JSON-able results."""
    x, y = training_set()
    fitters = contenders(x, y)
    reps = QUICK_REPETITIONS if quick else REPETITIONS
    times: dict[str, list[float]] = {name: [] for name in fitters}
    epochs: dict[str, list[int]] = {name: [] for name in fitters}
    goals: dict[str, int] = dict.fromkeys(fitters, 0)
    for seed in range(reps):
        for name, fitter in fitters.items():
            start = time.perf_counter()
            clf = fitter(seed)
            times[name].append(time.perf_counter() - start)
            epochs[name].append(int(clf.n_iter_))
            goals[name] += reaches_goal(clf)
    medians = {name: statistics.median(t) for name, t in times.items()}
    reference = medians["scikit-learn MLPClassifier tanh"]
    return {
        "samples": len(y),
        "repetitions": reps,
        "target_speedup": TARGET_SPEEDUP,
        "contenders": {
            name: {
                "median_seconds": round(medians[name], 4),
                "seconds": [round(t, 4) for t in times[name]],
                "median_epochs": statistics.median(epochs[name]),
                "reached_goal": f"{goals[name]}/{reps}",
                "speedup_vs_sklearn": round(reference / medians[name], 1),
            }
            for name in fitters
        },
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"fit to 100% clean / >= 99% noisy held-out, {result['samples']} samples, "
        f"median of {result['repetitions']} (target: pixelnet >= "
        f"{result['target_speedup']:.0f}x faster)",
        f"{'contender':<36}{'median s':>10}{'epochs':>8}{'goal':>6}{'speedup':>9}",
    ]
    for name, c in result["contenders"].items():
        lines.append(f"{name:<36}{c['median_seconds']:>10.3f}{c['median_epochs']:>8}"
                     f"{c['reached_goal']:>6}{c['speedup_vs_sklearn']:>8.1f}x")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    result = run(quick="--quick" in argv)
    print(json.dumps(result, indent=1) if "--json" in argv else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
