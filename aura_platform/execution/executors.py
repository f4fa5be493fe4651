"""Which engine executes a run's steps: Dagster's own executors, chosen by ``AURA_EXECUTOR``.

``in_process`` (the laptop default) runs every step in the run's process, ``multiprocess`` one
process per step on the same machine, ``celery`` one Celery task per step on whichever worker
takes it (``dagster-celery``, Redis as broker and result backend). The executor and the workers
must agree on the Celery configuration, so both read it from here: the executor through
``executor_def`` and the workers through ``aura_platform.execution.celery_app``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from aura_platform.settings import Settings

if TYPE_CHECKING:
    import dagster as dg

# dagster-celery's op tag naming the queue of a step (dagster_celery.tags), and dagster-k8s' op
# tag merging a pod spec into a step's pod; neither library is needed to set them.
CELERY_QUEUE_TAG = "dagster-celery/queue"
K8S_CONFIG_TAG = "dagster-k8s/config"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by the executor and the workers (the why of each is inline)."""
    return {
        # Acknowledge a task when it ends, not when a worker takes it: the message of a worker
        # killed mid-step goes back to the queue and another worker runs the step again. Syncs
        # are atomic and dbt and the embeddings converge, so running a step twice is safe.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One step at a time per worker process: a step can be long (dbt, embeddings), and a
        # prefetched step would wait behind it while another worker sits idle.
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "dagster",
        "task_default_priority": 5,
        # Redis hands an unacknowledged message to another worker after this many seconds. It must
        # exceed the longest step, or a slow step is started twice.
        "broker_transport_options": {"visibility_timeout": settings.celery_visibility_timeout},
        "result_backend_transport_options": {
            "visibility_timeout": settings.celery_visibility_timeout
        },
        "broker_connection_retry_on_startup": True,
    }


def _url_source(variable: str, value: str) -> str | dict[str, str]:
    """An ``{env: ...}`` reference when the variable is set, so no password enters run config."""
    return {"env": variable} if os.environ.get(variable) else value


def celery_executor_config(settings: Settings) -> dict[str, Any]:
    """The ``celery_executor``'s config: broker, backend, the shared Celery settings."""
    return {
        "broker": _url_source("AURA_CELERY_BROKER_URL", settings.celery_broker_url),
        "backend": _url_source("AURA_CELERY_BACKEND_URL", settings.celery_backend_url),
        "config_source": celery_config(settings),
    }


def executor_def(settings: Settings) -> dg.ExecutorDefinition:
    """The executor ``AURA_EXECUTOR`` names, for every job of the code location."""
    import dagster as dg

    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_executor_config(settings), name="celery")
    return dg.in_process_executor


def embedding_op_tags(settings: Settings) -> dict[str, str]:
    """Op tags that send embedding steps where the model should run (GPU workers or nodes).

    ``AURA_EMBEDDING_QUEUE`` is the Celery queue, which GPU workers consume
    (``celery ... worker -Q embeddings``); ``AURA_EMBEDDING_NODE_SELECTOR`` (``key=value,...``)
    is the Kubernetes node selector of the step's pod under ``k8s_job_executor``.
    """
    tags = {CELERY_QUEUE_TAG: settings.embedding_queue}
    if settings.embedding_node_selector:
        pod = {"pod_spec_config": {"node_selector": settings.embedding_node_selector}}
        tags[K8S_CONFIG_TAG] = json.dumps(pod, sort_keys=True)
    return tags
