"""The production monitoring files are checked against the code: every metric an alert or a
dashboard panel uses is one the services really export, every service is scraped."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY
from sqlalchemy import MetaData

from qlvb_chassis.db import chassis_tables
from qlvb_chassis.service import ServiceRuntime
from qlvb_chassis.settings import ServiceSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "production"
SERVICES = ("identity", "intake", "routing", "issuance", "reporting")
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "and", "or", "unless", "without",
    "avg", "max", "min", "count", "le", "job", "topic", "reason", "kind", "outcome", "instance",
    "on", "ignoring", "group_left", "group_right", "offset", "bool", "abs", "irate", "delta",
    "clamp_min", "topk", "bottomk", "time", "vector", "scalar", "label_replace",
}  # fmt: skip


def exported_metric_names() -> set[str]:
    # Metrics are registered when their modules are imported or a runtime is assembled.
    for service in SERVICES:
        importlib.import_module(f"qlvb_{service}.app")
    settings = ServiceSettings(database_url="postgresql+asyncpg://u:p@127.0.0.1:1/none")
    ServiceRuntime(settings, tables=chassis_tables(MetaData()))
    names = {"up"}
    for family in REGISTRY.collect():
        names.add(family.name)
        for suffix in ("_total", "_bucket", "_sum", "_count", "_created"):
            names.add(family.name + suffix)
    return names


def metrics_in(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_strings = re.sub(r'"[^"]*"', "", without_ranges)
    idents = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))
    return {i for i in idents if i not in PROMQL_WORDS and not i.isdigit()}


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[str]:
    exprs = []
    for path in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        dash = json.loads(path.read_text())
        exprs += [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    return exprs


def test_every_service_is_scraped() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == set(SERVICES)
    assert "alerts.yml" in config["rule_files"]


def test_alerts_and_dashboards_use_only_exported_metrics() -> None:
    exported = exported_metric_names()
    exprs = alert_expressions() + dashboard_expressions()
    assert len(exprs) >= 10
    used = set().union(*(metrics_in(e) for e in exprs))
    assert used, "no metric found in the expressions: the parser is broken"
    unknown = sorted(used - exported)
    assert not unknown, f"metrics used in deploy/production but exported by no service: {unknown}"


def test_parser_notices_an_unknown_metric() -> None:
    assert metrics_in('sum by (job) (rate(qlvb_nothing_total{job="x"}[5m]))') == {
        "qlvb_nothing_total"
    }
