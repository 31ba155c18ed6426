"""Run every benchmark in bench/ against the running stack and write one JSON summary.

    ./qlvb up && .venv/bin/python bench/run_all.py [--seconds 10]

Each benchmark is a script that prints one JSON object; the summary (bench/results/summary.json,
git-ignored) maps the script name to that object, or to its error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"common.py", "run_all.py"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args, extra = parser.parse_known_args()
    summary: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name in SKIP:
            continue
        print(f"running {script.name}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), "--seconds", str(args.seconds), *extra],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        try:
            summary[script.stem] = json.loads(proc.stdout)
        except json.JSONDecodeError:
            failed += 1
            summary[script.stem] = {"error": (proc.stderr or proc.stdout)[-2000:]}
    out = HERE / "results" / "summary.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
