"""Benchmark of the trainer: time to fit, pixelnet against scikit-learn and against a floor.

Every fit must reach the goal: 100% on the eight clean patterns and >= 99% on the
held-out noisy set. Each comparison runs every seed in ``rounds`` passes; within a
pass the two contenders of a seed run back to back, in swapped order every other
time, so a busy machine slows them alike. Before any timing each contender fits once
untimed (imports, caches, first-call costs), and the whole run holds BLAS to one
thread, the same for every contender. A round's time for a contender is its median
over the seeds; its reported time is the median of those over the rounds, and the
ratio is the ratio of those medians; the ratio within each round shows the spread.

Three comparisons:

* **like for like** (the headline): pixelnet with tanh in every hidden layer against
  scikit-learn's MLPClassifier given pixelnet's hyperparameters — the same 4-4-8
  tanh layers, identity output under softmax cross-entropy, Glorot initialisation,
  Adam with learning rate 0.03, batch 128, no L2 penalty, at most 200 epochs, and
  the same stopping rule: after 5 epochs whose training loss is not 1e-3 below the
  best loss so far (scikit-learn's rule; pixelnet follows it with
  ``improvement_from="best"``, its default measuring from the last epoch that made
  progress).
* **default against default**: each tool as it comes — pixelnet's default
  (tanh, tanh, relu) against MLPClassifier's defaults (learning rate 0.001,
  batch 200, L2 1e-4, tolerance 1e-4, 10 epochs of patience), max_iter raised to
  500 so that it reaches the goal.
* **the floor**: pixelnet's seconds per epoch (tanh throughout) against a
  minimal batched NumPy forward and backward pass over the same data in the same
  batches (``floor_epoch``): what any NumPy trainer must spend per epoch. One
  floor epoch runs after each of pixelnet's epochs, so the two are timed side by
  side.

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
from threadpoolctl import threadpool_limits

from pixelnet.trainer.data import noisy_test_set, training_set
from pixelnet.trainer.estimator import PixelnetClassifier
from pixelnet.trainer.network import init_params
from pixelnet.trainer.patterns import clean_patterns
from pixelnet.trainer.training import TrainConfig

TARGET_SPEEDUP = 5.0  # like for like
FLOOR_FACTOR = 1.5  # pixelnet's epoch may cost at most this many floor epochs
SEEDS = 7  # seeds 0..6: every contender reaches the goal from each
QUICK_SEEDS = 2
BLAS_THREADS = 1  # for every contender: the matrices are tiny, extra threads only add noise

LIKE_FOR_LIKE = "like for like"
DEFAULTS = "default vs default"
PIXELNET_TANH = "pixelnet tanh,tanh,tanh"
PIXELNET_DEFAULT = "pixelnet tanh,tanh,relu (default)"
SKLEARN_LIKE = "scikit-learn, pixelnet's hyperparameters"
SKLEARN_DEFAULT = "scikit-learn, its defaults"
COMPARISONS = {LIKE_FOR_LIKE: (PIXELNET_TANH, SKLEARN_LIKE),
               DEFAULTS: (PIXELNET_DEFAULT, SKLEARN_DEFAULT)}
# passes over the seeds: the headline gets more; scikit-learn's defaults take seconds a fit
ROUNDS = {LIKE_FOR_LIKE: 5, DEFAULTS: 1}
QUICK_ROUNDS = {LIKE_FOR_LIKE: 1, DEFAULTS: 1}

Fitter = Callable[[int], Any]  # seed -> a fitted classifier with predict and n_iter_


def sklearn_like_pixelnet(seed: int) -> MLPClassifier:
    """MLPClassifier set up with every hyperparameter of pixelnet's default fit."""
    config = TrainConfig(activations=("tanh", "tanh", "tanh"))
    return MLPClassifier(
        config.hidden, activation="tanh", solver="adam",
        learning_rate_init=config.learning_rate, batch_size=config.effective_batch_size,
        alpha=config.l2, max_iter=config.epochs, tol=config.tol,
        # scikit-learn stops once more than n_iter_no_change epochs failed to improve
        n_iter_no_change=(config.patience or config.epochs) - 1,
        shuffle=True, random_state=seed)


def contenders(x: np.ndarray, y: np.ndarray) -> dict[str, Fitter]:
    def quiet(make: Callable[[int], MLPClassifier]) -> Fitter:
        def fitter(seed: int) -> MLPClassifier:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return make(seed).fit(x, y)
        return fitter

    return {
        PIXELNET_TANH: lambda seed: PixelnetClassifier(
            activations="tanh", improvement_from="best", random_state=seed).fit(x, y),
        SKLEARN_LIKE: quiet(sklearn_like_pixelnet),
        PIXELNET_DEFAULT: lambda seed: PixelnetClassifier(random_state=seed).fit(x, y),
        SKLEARN_DEFAULT: quiet(lambda seed: MLPClassifier(
            (4, 4, 8), activation="tanh", solver="adam", random_state=seed, max_iter=500)),
    }


def floor_epoch(x: np.ndarray, truth: np.ndarray, weights: list[np.ndarray],
                biases: list[np.ndarray], batch: int) -> None:
    """One epoch of the least a NumPy trainer must compute: for each batch, the forward
    pass (tanh hidden layers, identity output), softmax cross-entropy's output gradient
    and the backward pass to every weight and bias gradient. No loss value, no update."""
    n = len(x)
    for start in range(0, n, batch):
        a = x[start : start + batch]
        outputs = [a]
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            a = np.tanh(a @ w + b)
            outputs.append(a)
        y = a @ weights[-1] + biases[-1]
        e = np.exp(y - y.max(axis=1, keepdims=True))
        grad_z = (e / e.sum(axis=1, keepdims=True) - truth[start : start + batch]) / len(y)
        for i in reversed(range(len(weights))):
            _ = outputs[i].T @ grad_z, grad_z.sum(axis=0)
            if i:
                grad_z = (grad_z @ weights[i].T) * (1.0 - outputs[i] * outputs[i])


def epoch_pairs(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[float], list[float]]:
    """Seconds of each epoch of pixelnet's like-for-like fit, and of a floor epoch run right
    after each (from the epoch callback, outside pixelnet's timing): side by side, so a
    busy machine slows both alike."""
    classes = np.unique(y)
    truth = (y[:, None] == classes[None, :]).astype(float)
    config = TrainConfig()
    params = init_params((x.shape[1], *config.hidden, len(classes)), True,
                         np.random.default_rng(seed))
    biases = [b for b in params.biases if b is not None]
    ours: list[float] = []
    floor: list[float] = []
    mark = time.perf_counter()

    def after_epoch(_epoch: int, _loss: float) -> None:
        nonlocal mark
        ours.append(time.perf_counter() - mark)
        start = time.perf_counter()
        floor_epoch(x, truth, params.weights, biases, config.effective_batch_size)
        floor.append(time.perf_counter() - start)
        mark = time.perf_counter()

    PixelnetClassifier(activations="tanh", improvement_from="best",
                       random_state=seed).fit(x, y, on_epoch=after_epoch)
    return ours, floor


def reaches_goal(clf: Any) -> bool:
    """100% on the clean patterns and >= 99% on the held-out noisy set."""
    clean_x, clean_y = clean_patterns()
    noisy_x, noisy_y = noisy_test_set()
    return bool(np.all(clf.predict(clean_x) == clean_y)
                and np.mean(clf.predict(noisy_x) == noisy_y) >= 0.99)


def run(quick: bool = False) -> dict[str, Any]:
    """Time every comparison over the seeds in alternating rounds, and the floor; JSON-able."""
    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        return _run(quick)


def _run(quick: bool) -> dict[str, Any]:
    x, y = training_set()
    fitters = contenders(x, y)
    seeds = range(QUICK_SEEDS if quick else SEEDS)
    rounds = QUICK_ROUNDS if quick else ROUNDS
    for fitter in fitters.values():
        fitter(0)  # warm-up, untimed
    times: dict[str, list[list[float]]] = {name: [[] for _ in seeds] for name in fitters}
    epochs: dict[str, list[int]] = {name: [] for name in fitters}
    goals: dict[str, int] = dict.fromkeys(fitters, 0)
    for label, pair in COMPARISONS.items():
        for round_ in range(rounds[label]):
            for seed in seeds:
                for name in pair if (round_ + seed) % 2 == 0 else pair[::-1]:
                    start = time.perf_counter()
                    clf = fitters[name](seed)
                    times[name][seed].append(time.perf_counter() - start)
                    if round_ == 0:
                        epochs[name].append(int(clf.n_iter_))
                        goals[name] += reaches_goal(clf)
    epoch_times: list[float] = []
    floor_times: list[float] = []
    for seed in seeds:
        ours, floor = epoch_pairs(x, y, seed)
        epoch_times += ours
        floor_times += floor
    contenders_out = {
        name: {
            "median_seconds": round(statistics.median(_round_medians(times[name])), 4),
            "seconds": [[round(t, 4) for t in by_round] for by_round in times[name]],
            "median_epochs": statistics.median(epochs[name]),
            "median_seconds_per_epoch": round(statistics.median(
                t / e for by_round, e in zip(times[name], epochs[name], strict=True)
                for t in by_round), 6),
            "reached_goal": f"{goals[name]}/{len(seeds)}",
        }
        for name in fitters
    }
    return {
        "samples": len(y),
        "repetitions": len(seeds),
        "rounds": {label: rounds[label] for label in COMPARISONS},
        "blas_threads": BLAS_THREADS,
        "target_speedup": TARGET_SPEEDUP,
        "floor_factor": FLOOR_FACTOR,
        "contenders": contenders_out,
        "comparisons": {
            label: {"pixelnet": ours, "peer": peer,
                    "speedup": round(contenders_out[peer]["median_seconds"]
                                     / contenders_out[ours]["median_seconds"], 2),
                    "round_speedups": [round(p / o, 2) for o, p in zip(
                        *(_round_medians(times[name]) for name in (ours, peer)), strict=True)]}
            for label, (ours, peer) in COMPARISONS.items()
        },
        "floor": {"contender": PIXELNET_TANH, "epochs": len(epoch_times),
                  "pixelnet_median_seconds_per_epoch": round(statistics.median(epoch_times), 6),
                  "median_seconds_per_epoch": round(statistics.median(floor_times), 6),
                  "batch_size": TrainConfig().effective_batch_size},
    }


def _round_medians(by_seed: list[list[float]]) -> list[float]:
    """Each round's median over the seeds, from every seed's times in round order."""
    return [statistics.median(round_) for round_ in zip(*by_seed, strict=True)]


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"fit to 100% clean / >= 99% noisy held-out, {result['samples']} samples, "
        f"median of {result['repetitions']} seeds (target like for like: pixelnet >= "
        f"{result['target_speedup']:.0f}x faster)",
        f"{'contender':<42}{'median s':>10}{'epochs':>8}{'ms/epoch':>10}{'goal':>6}",
    ]
    for name, c in result["contenders"].items():
        lines.append(f"{name:<42}{c['median_seconds']:>10.3f}{c['median_epochs']:>8}"
                     f"{c['median_seconds_per_epoch'] * 1e3:>10.2f}{c['reached_goal']:>6}")
    floor = result["floor"]
    ours, least = (floor[k] * 1e3 for k in ("pixelnet_median_seconds_per_epoch",
                                            "median_seconds_per_epoch"))
    lines.append(f"epochs side by side: pixelnet {ours:.2f} ms, "
                 f"minimal NumPy forward+backward {least:.2f} ms")
    lines += [f"{label}: {c['speedup']:.1f}x (each round alone: "
              f"{min(c['round_speedups']):.1f}x to {max(c['round_speedups']):.1f}x over "
              f"{len(c['round_speedups'])})" for label, c in result["comparisons"].items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    result = run(quick="--quick" in argv)
    print(json.dumps(result, indent=1) if "--json" in argv else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
