"""Which failures are worth retrying: a dropped connection is, a refused password is not."""

from __future__ import annotations

from aura_platform.settings import SourceNotConfigured
from aura_platform.sources.base import SourceConfigError
from aura_platform.sources.registry import TRANSPORTS


def is_permanent(error: BaseException) -> bool:
    """Authentication, authorisation and configuration errors: retrying only repeats them.

    Each transport says which of its errors are permanent (``TransportModule.is_permanent``);
    the error of a failed sync may come from the source or from the warehouse, and the
    warehouse is PostgreSQL, so the ``sql`` transport's rule covers its refusals too.
    Everything else (connection resets, timeouts, a server restarting) is left to Dagster's
    RetryPolicy with exponential backoff and jitter.
    """
    if isinstance(error, SourceConfigError | SourceNotConfigured):
        return True
    modules = {entry.module: entry for entry in TRANSPORTS.values()}.values()
    return any(entry.impl.is_permanent(error) for entry in modules)
