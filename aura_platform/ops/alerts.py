"""Failed runs: one ``ops.run_failures`` row each and, if configured, one webhook alert.

No Dagster here: the run-failure sensor (``defs/automation.py``) describes a failed run as a
``RunFailure`` and hands it to ``report_run_failure``. The row is keyed on the run id, so a sensor
tick evaluated twice records the run once and alerts once. A webhook that is down or refuses the
alert is recorded on the row (``alert_status = 'failed'``, ``alert_error``) and never raises: an
alert must not turn one failure into two.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from aura_platform.settings import mask_secrets
from aura_platform.warehouse.connection import connect

AlertStatus = Literal["not_configured", "pending", "sent", "failed"]

ALERT_TIMEOUT_SECONDS = 5.0  # a sensor tick waits at most this long for the webhook
MAX_ERROR_CHARS = 4000  # what the row keeps of a long traceback-free error text
SUMMARY_CHARS = 300  # what the alert says of it: enough to triage, short enough for a chat line


@dataclass(frozen=True)
class RunFailure:
    """One failed run, its error text already masked."""

    run_id: str
    job_name: str
    error_message: str
    failed_at: datetime
    started_at: datetime | None = None
    failed_steps: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The first line of the error, cut to fit a chat message."""
        first = next((line for line in self.error_message.splitlines() if line.strip()), "")
        return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1] + "…"

    def alert_payload(self) -> dict[str, Any]:
        """The JSON body posted to the webhook; ``text`` makes it a Slack/Mattermost message."""
        return {
            "text": f"Aura run failed: job {self.job_name}, run {self.run_id[:8]}: {self.summary}",
            "run_id": self.run_id,
            "job": self.job_name,
            "failed_steps": list(self.failed_steps),
            "error": self.summary,
            "failed_at": self.failed_at.isoformat(),
            "run_path": f"/runs/{self.run_id}",  # append to the Dagster UI's address
        }


def record_run_failure(url: str, failure: RunFailure, *, alerting: bool) -> AlertStatus:
    """Insert the failure unless its run is already recorded; return the row's alert status.

    ``pending`` means an alert is still owed (a tick that stopped between recording and posting
    leaves it so, and the next evaluation posts it).
    """
    with connect(url, autocommit=True) as conn:
        conn.execute(
            """
            insert into ops.run_failures (dagster_run_id, job_name, failed_steps, error_message,
                started_at, failed_at, alert_status)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (dagster_run_id) do nothing
            """,
            (
                failure.run_id,
                failure.job_name,
                list(failure.failed_steps),
                failure.error_message[:MAX_ERROR_CHARS],
                failure.started_at,
                failure.failed_at,
                "pending" if alerting else "not_configured",
            ),
        )
        row = conn.execute(
            "select alert_status from ops.run_failures where dagster_run_id = %s",
            (failure.run_id,),
        ).fetchone()
    assert row is not None
    return cast(AlertStatus, row[0])


def post_alert(
    webhook: str, payload: dict[str, Any], timeout: float = ALERT_TIMEOUT_SECONDS
) -> str | None:
    """POST ``payload`` as JSON; ``None`` when delivered, else why not (the webhook masked).

    Only http(s) is allowed, so a mistyped variable cannot make the sensor read a local file.
    """
    if urlsplit(webhook).scheme not in ("http", "https"):
        return "AURA_ALERT_WEBHOOK is not an http(s) URL"
    request = urllib.request.Request(
        webhook,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "aura-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
    except Exception as exc:  # HTTP errors, refusals, timeouts, bad URLs: recorded, not raised
        # A webhook URL often carries its token in the path, so it is hidden whole.
        text = f"{type(exc).__name__}: {exc}".replace(webhook, "<AURA_ALERT_WEBHOOK>")
        return mask_secrets(text, [webhook])[:MAX_ERROR_CHARS]
    return None


def report_run_failure(url: str, failure: RunFailure, webhook: str | None) -> AlertStatus:
    """Record the failure once and, with a webhook, alert once; return the final alert status."""
    status = record_run_failure(url, failure, alerting=bool(webhook))
    if status != "pending" or not webhook:
        return status
    error = post_alert(webhook, failure.alert_payload())
    status = "failed" if error else "sent"
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "update ops.run_failures set alert_status = %s, alert_error = %s, alerted_at = now() "
            "where dagster_run_id = %s",
            (status, error, failure.run_id),
        )
    return status
