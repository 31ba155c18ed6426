"""docs/walkthrough.sh works against a running system, and docs/WALKTHROUGH.md shows it as is."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from .system import System

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "walkthrough.sh"


def test_walkthrough_page_shows_the_script_unchanged() -> None:
    page = (ROOT / "docs" / "WALKTHROUGH.md").read_text()
    assert "```bash\n" + SCRIPT.read_text() + "```" in page


def test_walkthrough_runs(system: System) -> None:
    cfg = system.stack.cfg
    env = dict(os.environ)
    env.update(
        IDENTITY=system.urls["identity"],
        INTAKE=system.urls["intake"],
        ROUTING=system.urls["routing"],
        ISSUANCE=system.urls["issuance"],
        REPORTING=system.urls["reporting"],
        PASSWORD=system.password,
        RUN=str(uuid.uuid4().int % 90000 + 10000),
        QLVB_HOME=str(cfg.home),
        QLVB_PORT_BASE=str(cfg.ports.postgres - 432),
    )
    proc = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "arrival number (số đến): " in out
    issued = next(line for line in out.splitlines() if line.startswith("issued as: Số "))
    code = issued.removeprefix("issued as: Số ")
    assert f"processed, answered by {code}" in out
    assert '"StatusCode": "01"' in out
    assert '"StatusCode": "03"' in out
    assert out.rstrip().endswith("walkthrough finished")
