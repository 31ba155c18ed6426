"""Intake end to end: a clerk registers paper documents over HTTP (metadata + a 50 KB PDF scan)
into an incoming register, sustained for --seconds by a few concurrent clients; every
--sample-every-th document is followed through the system (HTTP 201 → its case with a task
visible in routing → the document found by reporting's search).

Routing and reporting both consume intake's ``incoming_document.registered`` event, in parallel:
both hops are timed from the 201. Samples are polled from tasks of their own on a client of their
own, so polling does not hold back the load.

Baseline, measured in the same run just before: raw 50 KB PUTs to the same object store
(raw_baselines.s3_put_rate). Target: registrations/s ≥ 0.5 × the raw PUT rate and registration
p95 ≤ 300 ms.

    .venv/bin/python bench/intake_end_to_end.py [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))

import httpx
from common import emit, running_stack, summary_ms
from raw_baselines import s3_put_rate

from qlvb_stack.services import service_url
from qlvb_stack.stack import Stack

OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SPECIALIST = "cv.nguyenvana"
CLERK = "vanthu"
ADMIN = "hctc.admin"
SCAN_BYTES = 50_000


def scan_pdf(size: int = SCAN_BYTES) -> bytes:
    """A valid-looking one-page PDF whose page is a scanned image (incompressible bytes),
    exactly ``size`` bytes long."""
    head = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]"
        b"/Resources<</XObject<</Im0 4 0 R>>>>/Contents 5 0 R>>endobj\n"
        b"5 0 obj<</Length 31>>stream\nq 595 0 0 842 0 0 cm /Im0 Do Q\nendstream endobj\n"
    )
    tail = b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

    def image_header(n: int) -> bytes:
        return (
            b"4 0 obj<</Type/XObject/Subtype/Image/Width 1240/Height 1754/ColorSpace"
            b"/DeviceGray/BitsPerComponent 1/Filter/CCITTFaxDecode/Length "
            + str(n).encode()
            + b">>stream\n"
        )

    n = size - len(head) - len(tail) - len(image_header(0))
    while len(head) + len(image_header(n)) + n + len(tail) > size:
        n -= 1
    pdf = head + image_header(n) + os.urandom(n) + tail
    assert len(pdf) == size
    return pdf


class Auth:
    """Bearer tokens of the demo users, renewed before they expire (10 minutes)."""

    def __init__(self, identity: str, password: str) -> None:
        self.identity = identity
        self.password = password
        self.tokens: dict[str, tuple[float, str]] = {}

    async def headers(self, client: httpx.AsyncClient, user: str) -> dict[str, str]:
        issued, token = self.tokens.get(user, (0.0, ""))
        if time.monotonic() - issued > 300:
            r = await client.post(
                self.identity + "/auth/login",
                json={"username": user, "password": self.password},
            )
            r.raise_for_status()
            token = r.json()["access_token"]
            self.tokens[user] = (time.monotonic(), token)
        return {"Authorization": f"Bearer {token}"}


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(w in line for w in wanted):
            total += float(line.rsplit(" ", 1)[1])
    return total


class PollBudget:
    """At most ``per_second`` polls start per second, shared by every tracker and served in
    turn (FIFO), so that following samples never becomes a load of its own: when many samples
    are pending, each is polled less often (the resolution coarsens) instead."""

    def __init__(self, per_second: float) -> None:
        self.gap = 1 / per_second
        self.next = 0.0
        self.lock = asyncio.Lock()
        self.polls = 0

    async def take(self) -> None:
        async with self.lock:
            now = time.perf_counter()
            if self.next > now:
                await asyncio.sleep(self.next - now)
            self.next = max(now, self.next) + self.gap
            self.polls += 1


class CpuMeter:
    """Cores each process of the stack (a process and its children: PostgreSQL's backends), this
    client, and everything else on the machine used over a window, read from /proc (Linux)."""

    def __init__(self, stack: Stack) -> None:
        self.pids = {
            c.name: c.pid for c in [*stack.status(), *stack.service_status()] if c.pid is not None
        }
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start: tuple[float, dict[str, float], float, float, float] | None = None

    def _snapshot(self) -> tuple[float, dict[str, float], float, float, float]:
        ticks: dict[int, float] = {}
        parent: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry)] = int(fields[1])
            # utime + stime + cutime + cstime: a child's time moves to its parent when reaped
            ticks[int(entry)] = sum(int(v) for v in fields[11:15]) / self.hz

        def tree(pid: int) -> float:
            return ticks.get(pid, 0.0) + sum(
                ticks[child] for child, ppid in parent.items() if ppid == pid
            )

        with open("/proc/stat") as f:
            cpu = [int(v) for v in f.readline().split()[1:]]
        total, idle = sum(cpu) / self.hz, (cpu[3] + cpu[4]) / self.hz
        per = {name: tree(pid) for name, pid in self.pids.items()}
        return time.perf_counter(), per, time.process_time(), total, idle

    def begin(self) -> None:
        try:
            self.start = self._snapshot()
        except OSError:
            self.start = None

    def end(self) -> dict[str, Any] | None:
        """Cores used since begin(): per component, by this client, by the rest of the machine."""
        if self.start is None:
            return None
        t0, per0, own0, total0, idle0 = self.start
        t1, per1, own1, total1, idle1 = self._snapshot()
        wall = t1 - t0
        cores = {name: round((per1[name] - per0[name]) / wall, 2) for name in per1}
        cores["bench_client"] = round((own1 - own0) / wall, 2)
        busy = (total1 - total0) - (idle1 - idle0)
        ncpu = os.cpu_count() or 1
        used = busy / (total1 - total0) * ncpu if total1 > total0 else 0.0
        cores["outside_this_stack"] = round(max(0.0, used - sum(cores.values())), 2)
        return {"machine_busy": round(used / ncpu, 2), "cores": cores}


def case_with_task(r: httpx.Response) -> bool:
    """GET /cases?incoming_document_id=... found the case and it has a task (the assignment)."""
    items = r.json().get("items", []) if r.status_code == 200 else []
    return bool(items and items[0].get("tasks"))


async def poll_until(
    client: httpx.AsyncClient,
    budget: PollBudget,
    url: str,
    params: dict[str, str],
    headers: Callable[[], Awaitable[dict[str, str]]],
    found: Callable[[httpx.Response], bool],
    t0: float,
    interval: float,
    give_up_after: float,
) -> tuple[float, float] | None:
    """GET ``url`` (within the budget, every ``interval`` at most) until ``found``; returns
    (seen, last_miss) in seconds from ``t0``: the response that showed it, and the start of the
    last poll that did not (0 if none) — the thing became visible between the two."""
    last_miss = t0
    while time.perf_counter() < t0 + give_up_after:
        await budget.take()
        sent = time.perf_counter()
        r = await client.get(url, params=params, headers=await headers())
        if found(r):
            return time.perf_counter() - t0, last_miss - t0
        last_miss = sent
        await asyncio.sleep(interval)
    return None


async def metrics_of(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, float]:
    intake, routing, reporting = await asyncio.gather(
        client.get(urls["intake"] + "/metrics"),
        client.get(urls["routing"] + "/metrics"),
        client.get(urls["reporting"] + "/metrics"),
    )
    return {
        "intake_registered": metric(
            intake.text, "qlvb_intake_documents_registered_total", channel="paper"
        ),
        "intake_outbox_lag_sum": metric(
            intake.text, "qlvb_outbox_lag_seconds_sum", service="intake"
        ),
        "intake_outbox_lag_count": metric(
            intake.text, "qlvb_outbox_lag_seconds_count", service="intake"
        ),
        "routing_cases_opened": metric(
            routing.text, "qlvb_routing_cases_opened_total", origin="incoming"
        ),
        "reporting_consumed": metric(
            reporting.text,
            "qlvb_consumer_messages_total",
            service="reporting",
            topic="intake.incoming-documents",
        ),
    }


async def ensure_ready(client: httpx.AsyncClient, urls: dict[str, str]) -> None:
    for name, url in urls.items():
        try:
            r = await client.get(url + "/readyz")
        except httpx.HTTPError as exc:
            sys.exit(f"{name} is not reachable at {url} ({exc}): ./qlvb up first")
        if r.status_code != 200:
            sys.exit(f"{name} is not ready ({r.status_code}): ./qlvb status")


async def ensure_register(
    client: httpx.AsyncClient, auth: Auth, intake: str, register_id: str, year: int
) -> None:
    r = await client.post(
        intake + "/registers",
        json={"id": register_id, "year": year, "name": f"Sổ văn bản đến (benchmark) {year}"},
        headers=await auth.headers(client, ADMIN),
    )
    if r.status_code not in (201, 409):
        sys.exit(f"cannot open register {register_id}: {r.status_code} {r.text[:300]}")


async def run_system(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    urls = {s: service_url(stack.cfg, s) for s in ("identity", "intake", "routing", "reporting")}
    auth = Auth(urls["identity"], stack.cfg.secrets().demo_password)
    year = datetime.now(OFFICE_TZ).year
    register_id = f"VBD-BENCH-{year}"
    run = uuid.uuid4().hex[:6]
    pdf = scan_pdf()
    today = datetime.now(OFFICE_TZ).date().isoformat()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    load = httpx.AsyncClient(timeout=60, limits=limits)
    probe = httpx.AsyncClient(timeout=60)
    try:
        await ensure_ready(probe, urls)
        await ensure_register(probe, auth, urls["intake"], register_id, year)
        for user in (CLERK, SPECIALIST):
            await auth.headers(probe, user)
        before = await metrics_of(probe, urls)

        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        to_routing: list[float] = []
        to_reporting: list[float] = []
        to_both: list[float] = []
        resolution: list[float] = []
        lost: Counter[str] = Counter()
        budgets = {"routing": PollBudget(args.max_polls), "reporting": PollBudget(args.max_polls)}
        trackers: list[asyncio.Task[None]] = []
        seq = 0

        def found_by_search(doc_id: str) -> Callable[[httpx.Response], bool]:
            def found(r: httpx.Response) -> bool:
                hits = r.json().get("results", []) if r.status_code == 200 else []
                return any(hit.get("id") == doc_id for hit in hits)

            return found

        async def follow(doc_id: str, token: str, t0: float) -> None:
            routed, counted = await asyncio.gather(
                poll_until(
                    probe,
                    budgets["routing"],
                    urls["routing"] + "/cases",
                    {"incoming_document_id": doc_id},
                    lambda: auth.headers(probe, SPECIALIST),
                    case_with_task,
                    t0,
                    args.poll_interval,
                    args.hop_timeout,
                ),
                poll_until(
                    probe,
                    budgets["reporting"],
                    urls["reporting"] + "/search",
                    {"q": token, "kind": "incoming"},
                    lambda: auth.headers(probe, CLERK),
                    found_by_search(doc_id),
                    t0,
                    args.poll_interval,
                    args.hop_timeout,
                ),
            )
            if routed is None:
                lost["routing"] += 1
            else:
                to_routing.append(routed[0])
                resolution.append(routed[0] - routed[1])
            if counted is None:
                lost["reporting"] += 1
            else:
                to_reporting.append(counted[0])
                resolution.append(counted[0] - counted[1])
            if routed is not None and counted is not None:
                to_both.append(max(routed[0], counted[0]))

        async def clerk(deadline: float) -> None:
            nonlocal seq
            while time.perf_counter() < deadline:
                seq += 1
                i = seq
                token = f"bx{run}n{i:07d}"
                metadata = {
                    "register_id": register_id,
                    "first_handlers": [SPECIALIST],
                    "OrganName": "Sở Kế hoạch và Đầu tư",
                    "CodeNumber": str(i),
                    "CodeNotation": f"KHĐT-B{run.upper()}",
                    "PromulgationDate": today,
                    "TypeName": "Công văn",
                    "Subject": f"V/v kế hoạch đầu tư công năm 2027, đợt {i} ({token})",
                    "SignerInfo": {"Position": "Giám đốc", "FullName": "Lê Văn Kế"},
                    "PageAmount": 2,
                    "Priority": 0,
                }
                headers = await auth.headers(load, CLERK)
                t = time.perf_counter()
                try:
                    r = await load.post(
                        urls["intake"] + "/incoming-documents",
                        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
                        files=[("files", (f"scan-{i}.pdf", pdf, "application/pdf"))],
                        headers=headers,
                    )
                except httpx.HTTPError as exc:
                    statuses[0] += 1
                    errors.append(repr(exc)[:300])
                    continue
                done = time.perf_counter()
                statuses[r.status_code] += 1
                if r.status_code != 201 or r.json().get("status") != "registered":
                    errors.append(f"{r.status_code} {r.text[:300]}")
                    continue
                latencies.append(done - t)
                if (len(latencies) - 1) % args.sample_every == 0:
                    trackers.append(asyncio.create_task(follow(r.json()["id"], token, done)))

        cpu = CpuMeter(stack)
        cpu.begin()
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(*(clerk(deadline) for _ in range(args.clients)))
        elapsed = time.perf_counter() - started
        cpu_used = cpu.end()
        load_end = time.perf_counter()
        registered = len(latencies)

        # Completeness: every registration reaches routing and reporting (by their counters).
        drain: dict[str, float | None] = {"routing": None, "reporting": None}
        after = before
        while time.perf_counter() - load_end < args.hop_timeout and None in drain.values():
            after = await metrics_of(probe, urls)
            waited = round(time.perf_counter() - load_end, 3)
            if (
                drain["routing"] is None
                and after["routing_cases_opened"] - before["routing_cases_opened"] >= registered
            ):
                drain["routing"] = waited
            if (
                drain["reporting"] is None
                and after["reporting_consumed"] - before["reporting_consumed"] >= registered
            ):
                drain["reporting"] = waited
            await asyncio.sleep(0.2)
        await asyncio.gather(*trackers)
        lag_n = after["intake_outbox_lag_count"] - before["intake_outbox_lag_count"]
        lag_s = after["intake_outbox_lag_sum"] - before["intake_outbox_lag_sum"]
    finally:
        await load.aclose()
        await probe.aclose()

    return {
        "clients": args.clients,
        "register_id": register_id,
        "scan_bytes": len(pdf),
        "seconds": round(elapsed, 3),
        "registered": registered,
        "registrations_per_s": round(registered / elapsed, 1),
        "http_status": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors[:5],
        "registration_latency": summary_ms(latencies),
        "hops": {
            "note": "routing and reporting both consume intake's registered event, in parallel: "
            "both hops are timed from the HTTP 201",
            "sampled_every": args.sample_every,
            "poll_interval_ms": round(args.poll_interval * 1000),
            "max_polls_per_s_per_service": args.max_polls,
            "polls": {name: b.polls for name, b in budgets.items()},
            "resolution_seen_minus_last_miss": summary_ms(resolution),
            "registered_to_routing_case_with_task": summary_ms(to_routing),
            "registered_to_reporting_search": summary_ms(to_reporting),
            "registered_to_both": summary_ms(to_both),
            "not_seen_within_timeout": dict(lost),
        },
        "after_load": {
            "routing_cases_opened": after["routing_cases_opened"] - before["routing_cases_opened"],
            "reporting_events_consumed": after["reporting_consumed"] - before["reporting_consumed"],
            "routing_drained_after_s": drain["routing"],
            "reporting_drained_after_s": drain["reporting"],
        },
        "intake_outbox_lag_mean_ms": round(lag_s / lag_n * 1000, 1) if lag_n else None,
        "cpu_during_load": cpu_used,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clerks (HTTP clients)")
    parser.add_argument("--sample-every", type=int, default=10, help="follow every Nth document")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between polls")
    parser.add_argument(
        "--max-polls", type=float, default=40, help="polls per second per service, at most"
    )
    parser.add_argument("--hop-timeout", type=float, default=300)
    args = parser.parse_args()
    stack = running_stack()
    raw = s3_put_rate(stack, args.seconds)
    system = asyncio.run(run_system(stack, args))
    ratio = system["registrations_per_s"] / raw["puts_per_s"] if raw["puts_per_s"] else 0.0
    p95 = system["registration_latency"]["p95_ms"]
    emit(
        {
            "benchmark": "intake_end_to_end",
            "system": system,
            "raw_s3_put_50kb": raw,
            "ratio_to_raw_put_rate": round(ratio, 3),
            "target": "registrations/s >= 0.5 x raw 50 KB PUT/s and registration p95 <= 300 ms",
            "target_rate_met": ratio >= 0.5,
            "target_p95_met": p95 <= 300,
            "target_met": ratio >= 0.5 and p95 <= 300,
        }
    )


if __name__ == "__main__":
    main()
