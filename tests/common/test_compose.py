"""docker-compose.yml against the Compose Specification's JSON schema (no Docker engine here)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.contracts.events import TAKEN_FIRST

ROOT = Path(__file__).resolve().parents[2]


def _schema() -> dict[str, Any]:
    # check-jsonschema vendors the official compose-spec.json.
    text = (
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    ).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


def test_compose_file_is_valid_against_the_specification() -> None:
    jsonschema.validate(_compose(), _schema())


def test_the_validator_would_catch_a_broken_file() -> None:
    broken = _compose()
    broken["services"]["gateway"]["ports"] = {"not": "a list"}
    errors = list(jsonschema.Draft7Validator(_schema()).iter_errors(broken))
    assert errors


def test_compose_has_the_topology_of_guanjia_up() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "gateway", "intake", "routing", "deadlines", "ledger"} <= set(services)
    for name in ("gateway", "intake", "routing", "deadlines", "ledger"):
        assert f"{name}-worker" in services, name
        assert services[name]["command"][:3] == ["guanjia", "serve", name]
        assert services[f"{name}-worker"]["command"] == ["guanjia", "worker", name]
    assert services["migrate"]["command"] == ["guanjia", "migrate"]
    # Every service that takes events first runs its first lane, and the relays know it.
    for name in TAKEN_FIRST:
        assert services[f"{name}-first"]["command"] == ["guanjia", "worker", name, "--lane", "first"]
    assert str(services["gateway"]["environment"]["GUANJIA_FIRST_LANE"]).lower() == "true"


def test_secrets_have_no_usable_default() -> None:
    env = _compose()["services"]["gateway"]["environment"]
    for name in (
        "GUANJIA_INTERNAL_SECRET",
        "GUANJIA_TOKEN_SECRET",
        "GUANJIA_PII_KEY",
        "GUANJIA_HOTLINE_SECRET",
    ):
        assert ":?" in env[name], f"{name} must be required, not defaulted"


def test_postgres_takes_every_pool_at_its_fullest() -> None:
    """Each replica of each app service keeps its own pool: the server must take them all."""
    from services.common import connections
    from services.common.connections import Pool
    from services.common.settings import Settings

    doc = _compose()
    command = doc["services"]["postgres"]["command"]
    limit = int(next(arg.split("=", 1)[1] for arg in command if arg.startswith("max_connections=")))
    apps = [
        spec
        for spec in doc["services"].values()
        if spec.get("command", [])[:1] == ["guanjia"] and spec["command"][1] in ("serve", "worker")
    ]
    processes = sum(int(spec.get("deploy", {}).get("replicas", 1)) for spec in apps)
    defaults = Settings()
    pool = Pool(defaults.db_pool_size, defaults.db_max_overflow)
    assert processes >= 13
    assert connections.needed(processes, pool) <= limit
