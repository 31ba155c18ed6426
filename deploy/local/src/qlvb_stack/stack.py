"""The local stack as a whole: bring it up (idempotently, repairing a half-started one), down,
and report its state."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict

from qlvb_stack.components import (
    Component,
    ComponentStatus,
    Postgres,
    SeaweedS3,
    Tansu,
)
from qlvb_stack.config import SERVICES, StackConfig
from qlvb_stack.processes import StackError, require_writable
from qlvb_stack.provision import provision_buckets, provision_postgres, provision_topics
from qlvb_stack.services import MAX_COPIES, ServiceCopy, running_copies

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class Stack:
    def __init__(self, cfg: StackConfig | None = None) -> None:
        self.cfg = cfg or StackConfig.from_env()
        self.s3 = SeaweedS3(self.cfg)
        self.postgres = Postgres(self.cfg)
        self.kafka = Tansu(self.cfg)

    @property
    def components(self) -> list[Component]:
        return [self.s3, self.postgres, self.kafka]

    def _ensure(self, comp: Component, timeout: float, say: Say) -> None:
        """Start ``comp`` unless it runs; a running one that never gets ready is restarted once."""
        before = comp.status()
        if before.state == "stopped":
            say(f"starting {comp.name}")
            comp.start()
            comp.wait_ready(timeout)
            return
        try:
            comp.wait_ready(min(timeout, 15.0))
        except StackError:
            say(f"{comp.name} (pid {before.pid}) runs but is not ready: restarting it")
            comp.stop()
            comp.start()
            comp.wait_ready(timeout)

    def up(self, *, timeout: float = 90.0, say: Say = _quiet) -> list[ComponentStatus]:
        import asyncio

        require_writable(self.cfg.home)
        for sub in (self.cfg.run_dir, self.cfg.log_dir, self.cfg.data_dir):
            require_writable(sub)
        self.cfg.secrets()  # generated once, before any component needs them

        # SeaweedFS takes a few seconds to get writable volumes: start it first, start PostgreSQL
        # meanwhile, then wait for it. Tansu needs its bucket, so it comes last.
        if self.s3.status().state == "stopped":
            say("starting s3")
            self.s3.start()
        self._ensure(self.postgres, timeout, say)
        asyncio.run(provision_postgres(self.cfg))
        self._ensure(self.s3, timeout, say)
        provision_buckets(self.cfg)
        self._ensure(self.kafka, timeout, say)
        created = asyncio.run(provision_topics(self.cfg))
        if created:
            say(f"created {len(created)} topics")
        return self.status()

    def up_services(
        self,
        *,
        scale: dict[str, int] | None = None,
        timeout: float = 90.0,
        say: Say = _quiet,
    ) -> list[ServiceCopy]:
        """Start every service (``scale`` copies each, default 1), stop surplus copies, wait
        until every copy answers /readyz."""
        wanted: list[ServiceCopy] = []
        for service in SERVICES:
            count = (scale or {}).get(service, 1)
            if not 1 <= count <= MAX_COPIES:
                raise StackError(f"--scale {service}={count}: choose 1..{MAX_COPIES}")
            wanted.extend(ServiceCopy(self.cfg, service, n) for n in range(count))
        names = {w.name for w in wanted}
        for copy in running_copies(self.cfg):
            if copy.name not in names and copy.proc.pid() is not None:
                say(f"stopping surplus copy {copy.name}")
                copy.stop()
        for copy in wanted:
            if copy.proc.pid() is None:
                say(f"starting {copy.name} on {copy.url}")
                copy.start()
        for copy in wanted:
            copy.wait_ready(timeout)
        return wanted

    def seed_demo(self, say: Say = _quiet) -> None:
        """Load the seed's cast (accounts, units, agencies) through identity; idempotent."""
        import os
        import subprocess
        import sys

        identity = ServiceCopy(self.cfg, "identity", 0)
        env = dict(os.environ)
        env.update(identity.env())
        env["QLVB_DEMO_PASSWORD"] = self.cfg.secrets().demo_password
        proc = subprocess.run(
            [sys.executable, "-m", "qlvb_identity.cli", "seed-demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise StackError(f"loading the demo data failed: {tail[0]}")
        say("demo accounts loaded")

    def service_status(self) -> list[ComponentStatus]:
        return [c.status() for c in running_copies(self.cfg)]

    def down(self, *, purge: bool = False, say: Say = _quiet) -> None:
        errors: list[str] = []
        for copy in reversed(running_copies(self.cfg)):
            if copy.proc.pid() is not None:
                say(f"stopping {copy.name}")
            try:
                copy.stop()
            except StackError as exc:
                errors.append(str(exc))
        for comp in reversed(self.components):
            if comp.status().state != "stopped":
                say(f"stopping {comp.name}")
            try:
                comp.stop()
            except StackError as exc:
                errors.append(str(exc))
        if errors:
            raise StackError("; ".join(errors))
        if purge and self.cfg.home.exists():
            shutil.rmtree(self.cfg.home)
            say(f"removed {self.cfg.home}")

    def status(self) -> list[ComponentStatus]:
        return [c.status() for c in self.components]

    def status_json(self) -> dict[str, object]:
        comps = self.status()
        return {
            "home": str(self.cfg.home),
            "state": "ready"
            if all(c.state == "ready" for c in comps)
            else "degraded"
            if any(c.state != "stopped" for c in comps)
            else "stopped",
            "components": [asdict(c) for c in comps],
        }
