"""The Celery app Aura's workers run: ``celery -A aura_platform.execution.celery_app worker``.

dagster-celery's own ``dagster_celery.app`` reads its settings from a module that
``dagster-celery worker start`` writes from a YAML file; this app takes them from Aura's
settings instead, the very ones the executor sends steps with (``executors``), so a worker and
the runs cannot disagree on broker, queues or acknowledgement.
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from aura_platform.execution.executors import celery_config
from aura_platform.settings import Settings

_settings = Settings.from_env()
app = make_app(
    CeleryExecutor.for_cli(
        broker=_settings.celery_broker_url,
        backend=_settings.celery_backend_url,
        config_source=celery_config(_settings),
    ).app_args()
)
execute_plan = create_task(app)
