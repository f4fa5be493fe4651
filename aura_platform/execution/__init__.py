"""How a run's steps execute: Dagster executors and the Celery app."""
