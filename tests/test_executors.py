"""The executor as configuration: AURA_EXECUTOR, the Celery settings, the embedding queue."""

from __future__ import annotations

import importlib
import json

import dagster as dg
import pytest

from aura_platform.execution.executors import (
    CELERY_QUEUE_TAG,
    K8S_CONFIG_TAG,
    celery_config,
    celery_executor_config,
    embedding_op_tags,
    executor_def,
)
from aura_platform.settings import Settings


def test_the_executor_defaults_to_in_process_and_a_typo_fails_naming_the_choices() -> None:
    assert executor_def(Settings.from_env({})) is dg.in_process_executor
    assert executor_def(Settings.from_env({"AURA_EXECUTOR": "multiprocess"})) is (
        dg.multiprocess_executor
    )
    with pytest.raises(ValueError, match="in_process, multiprocess, celery"):
        Settings.from_env({"AURA_EXECUTOR": "celerey"})


def test_the_celery_executor_reads_broker_and_backend_from_the_environment_not_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "redis://:s3cret@redis:6379/0"
    monkeypatch.setenv("AURA_CELERY_BROKER_URL", url)
    monkeypatch.delenv("AURA_CELERY_BACKEND_URL", raising=False)
    settings = Settings.from_env({"AURA_EXECUTOR": "celery", "AURA_CELERY_BROKER_URL": url})
    assert executor_def(settings).name == "celery"
    config = celery_executor_config(settings)
    assert config["broker"] == {"env": "AURA_CELERY_BROKER_URL"}
    assert config["backend"] == url  # unset: the broker's URL, as Settings resolved it
    assert config["config_source"]["task_acks_late"] is True


def test_workers_run_with_the_executors_celery_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURA_CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("AURA_CELERY_VISIBILITY_TIMEOUT", "42")
    app = importlib.reload(importlib.import_module("aura_platform.execution.celery_app")).app
    expected = celery_config(Settings.from_env())
    assert app.conf.broker_url == "redis://127.0.0.1:1/0"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.broker_transport_options == expected["broker_transport_options"]
    assert expected["broker_transport_options"] == {"visibility_timeout": 42}
    assert "execute_plan" in app.tasks


def test_embedding_steps_get_their_queue_and_optionally_a_gpu_node_selector() -> None:
    assert embedding_op_tags(Settings.from_env({})) == {CELERY_QUEUE_TAG: "dagster"}
    settings = Settings.from_env(
        {"AURA_EMBEDDING_QUEUE": "embeddings", "AURA_EMBEDDING_NODE_SELECTOR": "gpu=a10, zone=b"}
    )
    tags = embedding_op_tags(settings)
    assert tags[CELERY_QUEUE_TAG] == "embeddings"
    assert json.loads(tags[K8S_CONFIG_TAG]) == {
        "pod_spec_config": {"node_selector": {"gpu": "a10", "zone": "b"}}
    }
    with pytest.raises(ValueError, match="key=value"):
        Settings.from_env({"AURA_EMBEDDING_NODE_SELECTOR": "gpu"})
