"""The docker-compose deployment, checked by reading its files: Docker cannot run here.

The strongest check reads the code: every environment variable that ``aura_platform``, dbt's
project or Dagster's instance config reads must be set for the services that run them, so a new
variable cannot be forgotten in the deployment.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from aura_platform.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE_WORKSPACE = ROOT / "docker" / "workspace.yaml"
INSTANCE_CONFIG = ROOT / "dagster.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

DAGSTER_SERVICES = ("code", "webserver", "daemon", "worker")
_DBT_ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")
_INTERPOLATED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_POSTGRES_DATABASE = re.compile(r"postgresql://[^@\s]+@postgres:\d+/(\w+)")


# Exported by the dbt asset for each run (aura_platform/defs/dbt/assets.py), not by the deployment.
SET_PER_RUN_BY_AURA = {"DAGSTER_RUN_ID"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _env(compose: dict[str, Any], name: str) -> dict[str, str]:
    """The service's environment as a mapping (the file writes it as one, never as a list)."""
    environment = _service(compose, name).get("environment", {})
    assert isinstance(environment, dict), f"{name}: write environment as a mapping"
    return environment


def _argv(compose: dict[str, Any], name: str) -> list[str]:
    """The service's command as the container receives it."""
    command = _service(compose, name)["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _option(argv: list[str], *flags: str) -> str:
    """The value after the first of ``flags`` in ``argv``."""
    for i, arg in enumerate(argv[:-1]):
        if arg in flags:
            return argv[i + 1]
    raise AssertionError(f"none of {flags} in {argv}")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction.upper(), " ".join(arguments.split())))
    return pairs


def _is_os_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ`` imported from os."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_env_var_class(node: ast.expr) -> bool:
    """``EnvVar`` or ``dg.EnvVar``."""
    return (isinstance(node, ast.Name) and node.id == "EnvVar") or (
        isinstance(node, ast.Attribute) and node.attr == "EnvVar"
    )


def _reads_a_variable(func: ast.expr) -> bool:
    """Calls whose first argument names a variable: environ.get, getenv, EnvVar, EnvVar.int."""
    if _is_env_var_class(func):
        return True
    if isinstance(func, ast.Name):
        return func.id == "getenv"
    if isinstance(func, ast.Attribute):
        return (
            (func.attr == "get" and _is_os_environ(func.value))
            or func.attr == "getenv"
            or (func.attr == "int" and _is_env_var_class(func.value))
        )
    return False


def _variables_read_in(source: str) -> set[str]:
    """Names of the environment variables that Python ``source`` reads by literal name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice if _is_os_environ(node.value) else None
        elif isinstance(node, ast.Call) and node.args and _reads_a_variable(node.func):
            key = node.args[0]
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


def _instance_config_env_refs(node: Any) -> set[str]:
    """Every ``{env: NAME}`` value anywhere in a parsed dagster.yaml."""
    if isinstance(node, dict):
        found = {node["env"]} if isinstance(node.get("env"), str) else set()
        for value in node.values():
            found |= _instance_config_env_refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_instance_config_env_refs(item) for item in node))
    return set()


def _assert_set_for_dagster_services(compose: dict[str, Any], names: set[str], where: str) -> None:
    for service in DAGSTER_SERVICES:
        missing = sorted(names - _env(compose, service).keys())
        assert not missing, f"{where} reads {missing}, not set for service {service!r}"


def test_the_compose_file_defines_the_seven_services_without_a_version_key(compose):
    assert set(compose["services"]) == {
        "postgres", "mongo", "redis", "code", "webserver", "daemon", "worker"
    }  # fmt: skip
    assert "version" not in compose


def test_postgres_runs_pgvector_with_its_password_from_the_environment(compose):
    postgres = _service(compose, "postgres")
    assert postgres["image"].startswith("pgvector/pgvector:")
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_mongo_reports_health_with_a_ping(compose):
    mongo = _service(compose, "mongo")
    assert mongo["image"].startswith("mongo:")
    assert "mongosh" in mongo["healthcheck"]["test"]
    assert any("ping" in part for part in mongo["healthcheck"]["test"])


def test_postgres_init_creates_every_database_the_services_connect_to(compose):
    postgres = _service(compose, "postgres")
    init_dir = next(
        ROOT / volume.split(":")[0]
        for volume in postgres["volumes"]
        if volume.split(":")[1] == "/docker-entrypoint-initdb.d"
    )
    init_sql = "\n".join(path.read_text() for path in sorted(init_dir.glob("*.sql")))
    created = {postgres["environment"]["POSTGRES_DB"]}
    created |= set(re.findall(r"create database (\w+)", init_sql, flags=re.IGNORECASE))
    used = {
        database
        for service in DAGSTER_SERVICES
        for value in _env(compose, service).values()
        for database in _POSTGRES_DATABASE.findall(str(value))
    }
    assert {"aura", "dagster"} <= used
    assert used <= created, f"not created by {init_dir}: {sorted(used - created)}"
    assert "create extension if not exists vector" in init_sql


def test_the_code_service_serves_aura_definitions_over_grpc(compose):
    argv = _argv(compose, "code")
    assert argv[:3] == ["dagster", "code-server", "start"]
    assert _option(argv, "-m", "--module-name") == "aura_platform.definitions"
    assert _option(argv, "-h", "--host") == "0.0.0.0"
    port = _option(argv, "-p", "--port")
    assert port in _service(compose, "code")["healthcheck"]["test"]


def test_every_workspace_and_server_names_the_code_location_aura(compose):
    """One name, or Dagster warns of the mismatch on every load (dg defaults to the folder's)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    local = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    served = yaml.safe_load(COMPOSE_WORKSPACE.read_text())["load_from"]
    names = {
        "pyproject [tool.dg.project]": pyproject["tool"]["dg"]["project"]["code_location_name"],
        "workspace.yaml": local[0]["python_module"]["location_name"],
        "docker/workspace.yaml": served[0]["grpc_server"]["location_name"],
        "compose code server": _option(_argv(compose, "code"), "--location-name", "-l"),
    }
    assert names == dict.fromkeys(names, "aura")


def test_webserver_and_daemon_load_the_code_server_through_the_compose_workspace(compose):
    port = int(_option(_argv(compose, "code"), "-p", "--port"))
    workspace = yaml.safe_load(COMPOSE_WORKSPACE.read_text())
    assert workspace["load_from"] == [
        {"grpc_server": {"host": "code", "port": port, "location_name": "aura"}}
    ]
    assert _argv(compose, "webserver")[0] == "dagster-webserver"
    assert _argv(compose, "daemon")[:2] == ["dagster-daemon", "run"]
    for service in ("webserver", "daemon"):
        dagster_home = _env(compose, service)["DAGSTER_HOME"]
        workspace_arg = _option(_argv(compose, service), "-w", "--workspace")
        assert workspace_arg == f"{dagster_home}/workspace.yaml"


def test_the_image_puts_the_instance_config_and_compose_workspace_in_dagster_home(compose):
    dagster_home = _env(compose, "code")["DAGSTER_HOME"]
    copies = [
        args.split() for instruction, args in _dockerfile_instructions() if instruction == "COPY"
    ]
    assert any(
        {"dagster.yaml", "docker/workspace.yaml"} <= set(parts[:-1])
        and parts[-1].rstrip("/") == dagster_home
        for parts in copies
    ), f"no COPY of dagster.yaml and docker/workspace.yaml into {dagster_home}"


def test_dagster_services_share_one_image_and_wait_for_healthy_dependencies(compose):
    builds = {str(_service(compose, name).get("build")) for name in DAGSTER_SERVICES}
    assert len(builds) == 1
    assert "docker/Dockerfile" in builds.pop()
    expected = {
        "code": {"postgres", "mongo", "redis"},
        "webserver": {"code"},
        "daemon": {"code"},
        "worker": {"postgres", "mongo", "redis"},
    }
    for service, dependencies in expected.items():
        depends_on = _service(compose, service)["depends_on"]
        assert set(depends_on) == dependencies
        for dependency in dependencies:
            assert depends_on[dependency]["condition"] == "service_healthy"
            assert "healthcheck" in _service(compose, dependency)


def test_every_dagster_service_uses_the_celery_executor_on_the_compose_redis(compose):
    redis = _service(compose, "redis")
    assert redis["image"].startswith("redis:") and "redis-cli" in redis["healthcheck"]["test"]
    for service in DAGSTER_SERVICES:
        env = _env(compose, service)
        celery = ("AURA_EXECUTOR", "AURA_CELERY_BROKER_URL", "AURA_CELERY_BACKEND_URL")
        settings = Settings.from_env({name: env[name] for name in celery})
        assert settings.executor == "celery", service
        for url in (settings.celery_broker_url, settings.celery_backend_url):
            assert url.startswith("redis://redis:6379/"), (service, url)


def test_the_worker_runs_aura_celery_app_and_scales(compose):
    worker = _service(compose, "worker")
    argv = _argv(compose, "worker")
    assert argv[:4] == ["celery", "-A", "aura_platform.execution.celery_app", "worker"]
    queues = _option(argv, "-Q", "--queues").split(",")
    default_queue = Settings.from_env({}).embedding_queue
    assert default_queue in queues and "${AURA_EMBEDDING_QUEUE:-dagster}" in queues
    # `--scale worker=N` needs replicas that differ in nothing: no fixed name, no host port.
    assert not {"container_name", "ports", "hostname"} & set(worker)
    # Steps hand outputs and compute logs over the storage volume, and read landing files.
    assert set(worker["volumes"]) == set(_service(compose, "code")["volumes"])


def test_only_the_webserver_publishes_a_port_and_only_on_loopback(compose):
    published = {name: svc["ports"] for name, svc in compose["services"].items() if "ports" in svc}
    assert list(published) == ["webserver"]
    assert published["webserver"] == ["127.0.0.1:3000:3000"]


def _derived_variables(settings: Settings) -> set[str]:
    """What Settings.subprocess_env derives for dbt and Dagster, rather than passes through."""
    return {
        name
        for name in settings.subprocess_env()
        if name.startswith("AURA_DBT_") or name in {"DAGSTER_HOME", "AURA_DAGSTER_PG_URL"}
    }


@pytest.mark.parametrize("service", DAGSTER_SERVICES)
def test_every_setting_and_derived_variable_is_set_for_each_dagster_service(compose, service):
    external = Settings.from_env({"AURA_WAREHOUSE_URL": "postgresql://u:p@h:1/d"})
    required = set(ENV_VARS) | _derived_variables(external)
    missing = sorted(required - _env(compose, service).keys())
    assert not missing, f"{service} does not set {missing}"


def test_the_derived_variables_agree_with_what_settings_derive_from_the_compose_urls(compose):
    env = _env(compose, "code")
    settings = Settings.from_env(
        {name: env[name] for name in ("AURA_HOME", "AURA_WAREHOUSE_URL", "AURA_DAGSTER_PG_URL")}
    )
    derived = settings.subprocess_env()
    names = _derived_variables(settings)
    assert {name: env.get(name) for name in names} == {name: derived[name] for name in names}


def test_variables_the_dagster_instance_config_reads_are_set(compose):
    if not INSTANCE_CONFIG.exists():
        pytest.skip("dagster.yaml does not exist yet")
    names = _instance_config_env_refs(yaml.safe_load(INSTANCE_CONFIG.read_text()))
    assert "AURA_DAGSTER_PG_URL" in names
    _assert_set_for_dagster_services(compose, names, "dagster.yaml")


def test_variables_the_dbt_project_reads_are_set(compose):
    skipped = {"target", "logs", "dbt_packages"}
    files = [
        path
        for path in (ROOT / "dbt_project").rglob("*")
        if path.suffix in {".yml", ".yaml", ".sql"} and not skipped & set(path.parts)
    ]
    names = {name for path in files for name in _DBT_ENV_VAR.findall(path.read_text())}
    names -= SET_PER_RUN_BY_AURA
    if not names:
        pytest.skip("dbt_project reads no environment variables yet")
    _assert_set_for_dagster_services(compose, names, "dbt_project")


def test_the_source_scan_recognises_each_way_of_reading_a_variable():
    source = """
import os
from os import environ, getenv
import dagster as dg
from dagster import EnvVar
os.environ.get("A"); os.environ["B"]; os.getenv("C"); environ.get("D"); getenv("E")
EnvVar("F"); dg.EnvVar("G"); dg.EnvVar.int("H")
os.environ["WRITTEN"] = "x"; os.environ.get(name); settings.get("NOT_ENV")
"""
    assert _variables_read_in(source) == set("ABCDEFGH")


def test_every_variable_read_in_aura_platform_is_set_for_each_dagster_service(compose):
    names: set[str] = set()
    for path in sorted((ROOT / "aura_platform").rglob("*.py")):
        names |= _variables_read_in(path.read_text())
    _assert_set_for_dagster_services(compose, names, "aura_platform")


def test_every_variable_the_compose_file_interpolates_is_in_env_example():
    interpolated = set(_INTERPOLATED.findall(COMPOSE_FILE.read_text()))
    documented = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert "POSTGRES_PASSWORD" in interpolated
    assert interpolated <= documented, sorted(interpolated - documented)


def test_the_dockerfile_installs_the_lock_before_the_package_and_resolves_nothing():
    runs = [args for instruction, args in _dockerfile_instructions() if instruction == "RUN"]
    lock = [
        i
        for i, args in enumerate(runs)
        if "--require-hashes" in args and "--no-deps" in args and "-r requirements.lock" in args
    ]
    package = [i for i, args in enumerate(runs) if re.search(r"pip install .*-e \.", args)]
    assert lock, "no RUN pip install --require-hashes --no-deps -r requirements.lock"
    assert package, "no RUN pip install of the package"
    assert lock[0] < package[0]
    assert "--no-deps" in runs[package[0]] and "pip check" in runs[package[0]]
    installs = [args for args in runs if "pip install" in args]
    assert len(installs) == 2, "every other install would resolve versions freshly"
