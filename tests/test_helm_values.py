"""The Kubernetes deployment on paper (deploy/helm/values.yaml), checked against the code.

No cluster runs here; what can be checked is that the values set every variable the code reads,
keep secrets in the secret, and point at the image, module and location the code defines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_docker_compose import _dockerfile_instructions, _variables_read_in

from aura_platform.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[1]
HELM = ROOT / "deploy" / "helm"
# Variables whose values carry a password or a token: only ever in the Kubernetes secret.
SECRET = {
    "AURA_WAREHOUSE_URL", "AURA_DAGSTER_PG_URL", "AURA_DBT_PASSWORD", "AURA_ODOO_URL",
    "AURA_APN_URL", "AURA_MONGO_URL", "AURA_ALERT_WEBHOOK", "AURA_CELERY_BROKER_URL",
    "AURA_CELERY_BACKEND_URL",
}  # fmt: skip


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load((HELM / "values.yaml").read_text())


@pytest.fixture(scope="module")
def deployment(values: dict[str, Any]) -> dict[str, Any]:
    [only] = values["dagster-user-deployments"]["deployments"]
    return only


def _plain_env(deployment: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in deployment["env"]}


def _secret_keys() -> set[str]:
    lines = (HELM / "aura-secrets.example.env").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


def test_every_variable_the_code_reads_is_set_and_secrets_only_in_the_secret(deployment):
    plain, secret = _plain_env(deployment), _secret_keys()
    read = {
        n for p in (ROOT / "aura_platform").rglob("*.py") for n in _variables_read_in(p.read_text())
    }
    derived = set(
        Settings.from_env({"AURA_WAREHOUSE_URL": "postgresql://u:p@h:1/d"}).subprocess_env()
    )
    required = set(ENV_VARS) | read | {n for n in derived if n.startswith("AURA_DBT_")}
    assert not required - plain.keys() - secret, sorted(required - plain.keys() - secret)
    assert not SECRET & plain.keys() and secret >= SECRET
    assert [s["name"] for s in deployment["envSecrets"]] == ["aura-secrets"]


def test_every_service_and_each_run_pod_read_the_same_secret(values):
    runs = values["runLauncher"]
    assert runs["type"] == "K8sRunLauncher"
    for envs in (
        values["dagsterWebserver"]["envSecrets"],
        values["dagsterDaemon"]["envSecrets"],
        runs["config"]["k8sRunLauncher"]["envSecrets"],
    ):
        assert envs == [{"name": "aura-secrets"}]


def test_the_deployment_serves_the_workspaces_module_and_location(deployment):
    [entry] = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    module = entry["python_module"]
    assert deployment["name"] == module["location_name"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == module["module_name"]


def test_dagster_home_and_image_match_the_dockerfile(values, deployment):
    env = dict(
        part.split("=", 1)
        for instruction, args in _dockerfile_instructions()
        if instruction == "ENV"
        for part in args.split()
        if "=" in part
    )
    assert (
        values["global"]["dagsterHome"]
        == env["DAGSTER_HOME"]
        == _plain_env(deployment)["DAGSTER_HOME"]
    )
    assert _plain_env(deployment)["AURA_HOME"] == env["AURA_HOME"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    local_image = compose["services"]["code"]["image"].split(":")[0]
    assert deployment["image"]["repository"].rsplit("/", 1)[-1] == local_image
    assert deployment["image"]["tag"] not in ("", "latest")


def test_the_executor_and_the_embedding_node_selector_parse_as_settings(deployment):
    settings = Settings.from_env(_plain_env(deployment))
    assert settings.executor == "multiprocess"
    assert settings.embedding_node_selector == {"nvidia.com/gpu.present": "true"}


def test_dagster_storage_is_an_external_postgres_with_its_password_in_a_secret(values):
    assert values["postgresql"]["enabled"] is False
    assert values["postgresql"]["postgresqlDatabase"] == "dagster"
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
