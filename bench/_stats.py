"""Small helpers shared by the benchmarks: time a call repeatedly, summarise, format.

The box the benchmarks run on may be shared, so absolute times wander; a benchmark should time a
baseline in the same run and report the ratio next to the raw figures.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50.0)


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between the closest ranks (the
    definition numpy uses by default). With few samples a high percentile is close to the max."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def time_calls(fn: Callable[[], object], runs: int, *, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed ones. The garbage
    collector runs between calls, not during them."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


@dataclass(frozen=True)
class Summary:
    runs: int
    median: float
    p99: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            runs=len(samples),
            median=median(samples),
            p99=percentile(samples, 99.0),
            minimum=min(samples),
            maximum=max(samples),
        )

    def line(self, label: str, width: int = 34) -> str:
        return (
            f"{label:<{width}} median {seconds(self.median):>9}   p99 {seconds(self.p99):>9}   "
            f"min {seconds(self.minimum):>9}   ({self.runs} runs)"
        )


def seconds(value: float) -> str:
    """``0.000412`` -> ``412 µs``, ``0.0213`` -> ``21.3 ms``, ``1.5`` -> ``1.50 s``."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "n/a"
