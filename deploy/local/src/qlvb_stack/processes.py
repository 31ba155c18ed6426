"""Starting, watching and stopping the local stack's processes, with pid files and logs.

Failure first: a pid file may be stale (the machine rebooted, a process was killed), a port may be
taken by someone else, a binary may be missing, the data folder may be read-only. Each of these
ends in one line that says what is wrong and what to do (:class:`StackError`), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(Exception):
    """A problem the operator can fix; the message is one actionable line."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def pid_cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def require_binary(path: Path | str, what: str) -> Path:
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        raise StackError(
            f"{what} binary missing or not executable at {p}; "
            "run ./qlvb again to reinstall the environment (it runs uv sync)"
        )
    return p


def require_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StackError(
            f"data folder {folder} cannot be created ({exc.strerror}); "
            "set QLVB_HOME to a writable folder"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StackError(
            f"data folder {folder} is not writable; fix its permissions or set QLVB_HOME elsewhere"
        )


def require_free_ports(component: str, ports: Iterable[tuple[str, int]]) -> None:
    for env_name, port in ports:
        if not port_is_free(port):
            raise StackError(
                f"port {port} needed by {component} is already in use by another process; "
                f"stop it, or choose other ports with {env_name} or QLVB_PORT_BASE"
            )


def wait_ports_free(ports: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(port_is_free(p) for p in ports):
            return True
        time.sleep(0.2)
    return all(port_is_free(p) for p in ports)


_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Children started by this process, kept so that they are reaped (no zombies, no warnings)
when a long-lived caller such as the test suite stops them."""


@dataclass
class ManagedProcess:
    """A long-running child we start detached, with a pid file and a log file."""

    name: str
    pid_file: Path
    log_file: Path
    marker: str
    """A string that the process' command line contains, to tell it from a reused pid."""

    def pid(self) -> int | None:
        """The live pid, or None. A stale pid file (dead or foreign pid) is removed."""
        try:
            raw = self.pid_file.read_text().strip()
        except FileNotFoundError:
            return None
        try:
            pid = int(raw)
        except ValueError:
            self.pid_file.unlink(missing_ok=True)
            return None
        if pid_alive(pid) and self.marker in pid_cmdline(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=cwd,
                start_new_session=True,  # survives the CLI; signals go to its own group
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        # Until exec, /proc/<pid>/cmdline is still ours: wait for it so pid() recognizes the child.
        deadline = time.monotonic() + 5
        while self.marker not in pid_cmdline(proc.pid) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        return proc.pid

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM, wait, SIGKILL the whole process group, wait until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                child = _CHILDREN.get(pid)
                if child is not None and child.poll() is not None:
                    del _CHILDREN[pid]
                if not pid_alive(pid):
                    self.pid_file.unlink(missing_ok=True)
                    return
                time.sleep(0.1)
        raise StackError(f"{self.name} (pid {pid}) did not stop after SIGKILL; check `ps -p {pid}`")
