"""The five services as OS processes on the local stack (one or more copies each)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import httpx

from qlvb_stack.components import ComponentStatus, State
from qlvb_stack.config import SERVICES, StackConfig
from qlvb_stack.processes import (
    ManagedProcess,
    StackError,
    require_free_ports,
    wait_ports_free,
)

MAX_COPIES = 8


def service_port(cfg: StackConfig, service: str, copy: int = 0) -> int:
    """Copy 0 of identity, intake, routing, issuance, reporting listens on base+101..105; copy n
    on base+101+10n..; all inside the stack's block of 1000 ports."""
    base = cfg.ports.postgres - 432
    return base + 101 + SERVICES.index(service) + 10 * copy


@dataclass
class ServiceCopy:
    cfg: StackConfig
    service: str
    copy: int

    @property
    def name(self) -> str:
        return self.service if self.copy == 0 else f"{self.service}.{self.copy}"

    @property
    def port(self) -> int:
        return service_port(self.cfg, self.service, self.copy)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self) -> ManagedProcess:
        marker = f"--instance={self.cfg.home}/{self.name}"
        return ManagedProcess(
            self.name,
            self.cfg.run_dir / f"{self.name}.pid",
            self.cfg.log_dir / f"{self.name}.log",
            marker=marker,
        )

    def env(self) -> dict[str, str]:
        prefix = f"QLVB_{self.service.upper()}_"
        env = self.cfg.service_env(self.service)
        env[prefix + "HTTP_PORT"] = str(self.port)
        env[prefix + "IDENTITY_URL"] = service_url(self.cfg, "identity")
        return env

    def start(self) -> None:
        proc = self.proc
        if proc.pid() is not None:
            return
        # A copy that was just killed may hold its port for a moment while it exits.
        wait_ports_free([self.port], 10)
        require_free_ports(self.name, [("QLVB_PORT_BASE", self.port)])
        # The --instance argument is ignored by the service; it tells our copies apart in `ps`.
        proc.start(
            [sys.executable, "-m", f"qlvb_{self.service}", proc.marker],
            env=self.env(),
            cwd=self.cfg.home,
        )

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.pid() is None:
                raise StackError(f"{self.name} exited during start-up; see ./qlvb logs {self.name}")
            if self.ready():
                return
            time.sleep(0.3)
        raise StackError(f"{self.name} not ready after {timeout:.0f}s; see ./qlvb logs {self.name}")

    def stop(self) -> None:
        self.proc.stop(grace=10.0)

    def status(self) -> ComponentStatus:
        pid = self.proc.pid()
        state: State = "stopped"
        if pid is not None:
            state = "ready" if self.ready() else "starting"
        return ComponentStatus(self.name, self.url, state, pid, str(self.proc.log_file))


def service_url(cfg: StackConfig, service: str) -> str:
    return f"http://127.0.0.1:{service_port(cfg, service)}"


def running_copies(cfg: StackConfig) -> list[ServiceCopy]:
    """Every copy that has a pid file (running or stale), plus copy 0 of each service."""
    copies = {(s, 0) for s in SERVICES}
    if cfg.run_dir.exists():
        for pid_file in cfg.run_dir.glob("*.pid"):
            head, _, tail = pid_file.stem.partition(".")
            if head in SERVICES and tail.isdigit():
                copies.add((head, int(tail)))
    return [
        ServiceCopy(cfg, s, n)
        for s, n in sorted(copies, key=lambda sn: (SERVICES.index(sn[0]), sn[1]))
    ]
