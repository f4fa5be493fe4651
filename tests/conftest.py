"""Shared fixtures: one private embedded PostgreSQL per test session, never the developer's own."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from aura_platform.settings import Settings
from aura_platform.warehouse import embedded
from aura_platform.warehouse.bootstrap import prepare_warehouse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def aura_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of a private Aura installation, exported so subprocesses see it too."""
    home = tmp_path_factory.mktemp("aura_home")
    env = {
        "AURA_HOME": str(home),
        "AURA_PG_PORT": str(_free_port()),
        "AURA_DATA_DIR": str(home / "data"),
        # The .env for plain dagster commands goes to the private home, not the project folder.
        "AURA_ENV_FILE": str(home / ".env"),
        # The suite's sources are the demo's (tests of "not configured" unset it).
        "AURA_DEMO": "1",
    }
    if os.environ.get("AURA_TEST_WAREHOUSE_URL"):
        env["AURA_WAREHOUSE_URL"] = os.environ["AURA_TEST_WAREHOUSE_URL"]
    saved = {k: os.environ.get(k) for k in [*env, "AURA_WAREHOUSE_URL"]}
    os.environ.pop("AURA_WAREHOUSE_URL", None)
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def settings(aura_env: dict[str, str]) -> Iterator[Settings]:
    """Settings of the private installation, with its warehouse started and migrated."""
    current = Settings.from_env()
    prepare_warehouse(current)
    yield current
    embedded.stop(current)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]
