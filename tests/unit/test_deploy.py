"""deploy/ checked offline: manifests parse, probes point at the real endpoints on the right ports,
every environment variable is a setting the code reads, commands are the CLI's, the image is not root."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml

from services.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMMANDS = {"api", "escalator", "notifier", "migrate", "run", "create-admin", "seed-demo", "demo"}
PROBES = {"/healthz", "/readyz"}
PORTS = {"api": 8000, "escalator": 8001, "notifier": 8002}


def setting_names() -> set[str]:
    return {f"LIANDONG_{name.upper()}" for name in Settings.model_fields} | {"DATABASE_URL"}


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_kubernetes_manifests() -> None:
    docs = manifests()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "liandong-api"), ("Deployment", "liandong-escalator"), ("Deployment", "liandong-notifier"),
            ("HorizontalPodAutoscaler", "liandong-api"), ("Job", "liandong-migrate"), ("Secret", "liandong-secrets"),
            ("ConfigMap", "liandong-config"), ("Service", "liandong-api")} <= kinds
    names = setting_names()
    for d in docs:
        if d["kind"] in ("ConfigMap", "Secret"):
            data = d.get("data") or d.get("stringData") or {}
            assert set(data) <= names, set(data) - names
            assert all(isinstance(v, str) for v in data.values())  # a number here would not parse in Kubernetes
        if d["kind"] == "Deployment":
            process = d["metadata"]["name"].removeprefix("liandong-")
            container = d["spec"]["template"]["spec"]["containers"][0]
            assert container["args"] == [process] and process in COMMANDS
            for probe in ("livenessProbe", "readinessProbe"):
                get = container[probe]["httpGet"]
                assert get["path"] in PROBES and get["port"] == PORTS[process]
            assert d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
            if process in ("escalator", "notifier"):
                assert d["spec"]["replicas"] >= 2
        if d["kind"] == "Job":
            assert d["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert {int(config[f"LIANDONG_{p.upper()}_PORT"]) for p in PORTS} == set(PORTS.values())
    # every value the configuration gives is one the settings accept
    secret = next(d for d in docs if d["kind"] == "Secret")["stringData"]
    env = {**config, **secret, "LIANDONG_ENV": "prod"}
    Settings(**{k.removeprefix("LIANDONG_").lower() if k != "DATABASE_URL" else "database_url": v
                for k, v in env.items()})


def test_compose() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "migrate", "api", "escalator", "notifier"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    for name in PORTS:
        assert services[name]["command"] == [name]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{PORTS[name]}/readyz" in probe
        env = services[name].get("environment", {})
        assert set(env) <= setting_names()


def test_systemd_units() -> None:
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read_string(path.read_text())
        command = unit["Service"]["ExecStart"].split()
        assert command[0].endswith("/liandong") and command[1] in COMMANDS
        assert unit["Service"]["User"] == "liandong"  # never root
        assert unit["Service"]["EnvironmentFile"] == "/etc/liandong/liandong.env"


def test_image_and_env_example() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001$", dockerfile, re.M) and "ENTRYPOINT [\"liandong\"]" in dockerfile
    keys = {line.split("=", 1)[0] for line in (DEPLOY / "liandong.env.example").read_text().splitlines()
            if "=" in line and not line.startswith("#")}
    assert keys <= setting_names(), keys - setting_names()


def metric_names() -> set[str]:
    """Every metric the code defines (and the histogram series Prometheus derives from them)."""
    names = set()
    for path in (ROOT / "services").rglob("*.py"):
        names |= set(re.findall(r'(?:Histogram|Counter|Gauge)\(\s*"(liandong_[a-z_]+)"', path.read_text()))
    derived = {f"{n}{suffix}" for n in names for suffix in ("_bucket", "_count", "_sum")}
    return names | derived | {f"{n}_total" for n in names} | {"up"}


def test_dashboard_and_alerts_use_metrics_that_exist() -> None:
    import json

    known = metric_names()
    dashboard = json.loads((DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DEPLOY / "monitoring" / "alerts.yaml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for expr in exprs:
        used = set(re.findall(r"\b(liandong_[a-z_]+|up)\b", expr))
        assert used and used <= known, (expr, used - known)
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    runbook = (ROOT / "docs" / "operations.md").read_text()
    assert all(a in runbook for a in alerts), alerts - {a for a in alerts if a in runbook}
