"""Run every benchmark in bench/ against the running stack and write one JSON summary.

    ./qlvb up && .venv/bin/python bench/run_all.py [--seconds 10] [--reporting-documents 20000]

Each benchmark is a script that prints one JSON object; the summary (bench/results/summary.json,
git-ignored) maps the script name to that object, or to its error. Other arguments go to every
script; ``--reporting-documents`` only to reporting_scale.py (its ``--documents``: 1,000,000 by
default, a few minutes of loading), since ``--documents`` means something else to the others.
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
    parser.add_argument("--reporting-documents", type=int, default=None)
    args, extra = parser.parse_known_args()
    own: dict[str, list[str]] = {}
    if args.reporting_documents is not None:
        own["reporting_scale.py"] = ["--documents", str(args.reporting_documents)]
    summary: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name in SKIP:
            continue
        print(f"running {script.name}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [
                sys.executable,
                str(script),
                "--seconds",
                str(args.seconds),
                *extra,
                *own.get(script.name, []),
            ],
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
