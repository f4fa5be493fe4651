"""Which failures are worth retrying: a dropped connection is, a refused password is not."""

from __future__ import annotations

import psycopg.errors

from aura_platform.settings import SourceNotConfigured


def is_permanent(error: BaseException) -> bool:
    """Authentication, authorisation and configuration errors: retrying only repeats them.

    Everything else (connection resets, timeouts, a server restarting) is left to Dagster's
    RetryPolicy with exponential backoff and jitter.
    """
    from aura_platform.sources.odoo_rpc import OdooAuthError
    from aura_platform.sources.registry import SourceConfigError

    if isinstance(
        error,
        OdooAuthError
        | SourceConfigError
        | SourceNotConfigured
        | psycopg.errors.InvalidPassword
        | psycopg.errors.InvalidAuthorizationSpecification
        | psycopg.errors.InsufficientPrivilege,
    ):
        return True
    if type(error).__name__ == "OperationFailure" and getattr(error, "code", None) in (13, 18):
        return True  # pymongo: Unauthorized / AuthenticationFailed
    return isinstance(error, psycopg.OperationalError) and "password authentication failed" in str(
        error
    )
