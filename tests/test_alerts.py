"""The run-failure alert: short, linkable, and never a way to read a local file."""

import socket
from datetime import UTC, datetime
from pathlib import Path

from aura_platform.ops.alerts import SUMMARY_CHARS, RunFailure, post_alert

FAILURE = RunFailure(
    run_id="1f0c2a9e-0000-4000-8000-000000000000",
    job_name="main",
    error_message="\nraw__odoo__crm_lead: OperationalError: " + "x" * 500 + "\nsecond line",
    failed_at=datetime(2026, 1, 5, 2, 3, 4, tzinfo=UTC),
    failed_steps=("raw__odoo__crm_lead",),
)


def test_the_alert_says_which_job_and_run_failed_in_one_short_line() -> None:
    payload = FAILURE.alert_payload()
    assert payload["text"].startswith("Aura run failed: job main, run 1f0c2a9e: raw__odoo__")
    assert "\n" not in payload["text"]
    assert len(payload["error"]) == SUMMARY_CHARS
    assert payload["run_path"] == f"/runs/{FAILURE.run_id}"
    assert payload["failed_at"] == "2026-01-05T02:03:04+00:00"


def test_a_webhook_that_is_not_http_is_refused_without_being_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    error = post_alert(secret.as_uri(), FAILURE.alert_payload())
    assert error == "AURA_ALERT_WEBHOOK is not an http(s) URL"


def test_an_unreachable_webhook_is_reported_without_its_url() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = post_alert(f"http://127.0.0.1:{port}/hooks/T0KEN", {}, timeout=2)
    assert error is not None and error.startswith("URLError")
    assert "T0KEN" not in error
