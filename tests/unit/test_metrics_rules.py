"""deploy/prometheus (scrape config, alert rules) and deploy/grafana (the dashboard).

Checked with the real `promtool` (Debian's prometheus package; scripts/test.sh
installs it with scripts/ensure_prometheus.sh): the configuration and rules
load, every alert fires in alerts_test.yml, every dashboard query parses, and
every metric they name is one some process exports (read from the processes'
own registries).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from bot.infra.settings import ROOT, load_settings
from bot.rasa_runtime import metrics as runtime_metrics
from bot.web.metrics import Metrics

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "stadtwerk-dashboard.json"
METRIC = re.compile(r"\b(stadtwerk_[a-z_]+|up)\b(?!\s*\()")
JOB = re.compile(r'job\s*=~?\s*"([^"]+)"')
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: run scripts/ensure_prometheus.sh")
    done = subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def exported(registry: CollectorRegistry) -> set[str]:
    """The sample names a registry's families expose (with or without samples yet)."""
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_the_scrape_configuration_is_valid() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")


def test_the_alert_rules_are_valid() -> None:
    assert "SUCCESS: 4 rules found" in promtool("check", "rules", "alerts.yml")


def test_the_four_alerts_watch_what_they_are_for() -> None:
    rules = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    assert set(rules) == {
        "PhoneTurnsSlow",
        "HandoffWaitOverPromise",
        "ApologiesRising",
        "RasaInstanceDown",
    }
    assert 'channel="voice"' in rules["PhoneTurnsSlow"] and "> 0.3" in rules["PhoneTurnsSlow"]
    assert "stadtwerk_handoff_promised_wait_seconds" in rules["HandoffWaitOverPromise"]
    assert "rate(stadtwerk_apologies_total" in rules["ApologiesRising"]
    assert rules["RasaInstanceDown"].strip() == 'up{job="rasa"} == 0'


def test_every_alert_fires_in_its_unit_tests() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == {rule["alert"] for rule in alert_rules()}


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    queries = dashboard_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{n}", "expr": q} for n, q in enumerate(queries)
                ],
            }
        ]
    }
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert f"SUCCESS: {len(queries)} rules found" in promtool(
        "check", "rules", "dashboard.yml", cwd=tmp_path
    )


def test_the_dashboard_shows_what_operations_asked_for() -> None:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert board["templating"]["list"][0]["type"] == "datasource"
    queries = " ".join(dashboard_queries())
    for shown in (
        "histogram_quantile(0.5, sum by (le, channel) (rate(stadtwerk_turn_seconds_bucket",
        "histogram_quantile(0.95, sum by (le, channel) (rate(stadtwerk_turn_seconds_bucket",
        "rate(stadtwerk_turn_seconds_count",
        "stadtwerk_fallbacks_total",
        "stadtwerk_apologies_total",
        "stadtwerk_tracker_store_failures_total",
        "stadtwerk_twilio_retries_total",
        "sum by (reason)",
        "stadtwerk_handoff_queue",
        "stadtwerk_handoff_wait_seconds_bucket",
        "stadtwerk_conversations_total",
        "up{",
    ):
        assert shown in queries, shown
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


def test_every_metric_named_is_exported_by_a_process(database_url: str) -> None:
    web = Metrics(load_settings().replace(database_url=database_url), live_chats=lambda: 0)
    names = {"up"} | exported(web.registry)
    names |= exported(runtime_metrics.RUNTIME) | exported(runtime_metrics.ACTIONS)
    sources = [rule["expr"] for rule in alert_rules()] + dashboard_queries()
    named = {name for source in sources for name in METRIC.findall(source)}
    assert len(named) > 10
    assert named <= names, sorted(named - names)


def test_every_job_named_is_scraped() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"web", "rasa", "actions"}
    assert jobs["rasa"]["static_configs"][0]["targets"] == ["127.0.0.1:5006", "127.0.0.1:5007"]
    assert jobs["actions"]["static_configs"][0]["targets"] == ["127.0.0.1:5055"]
    assert jobs["web"]["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    sources = [rule["expr"] for rule in alert_rules()] + dashboard_queries()
    named = {
        job for source in sources for pattern in JOB.findall(source) for job in pattern.split("|")
    }
    assert named and named <= set(jobs)
