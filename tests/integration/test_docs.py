"""dbt docs: generated from the real project, documented, with lineage back to raw; served."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aura_platform.cli.main import main
from aura_platform.settings import Settings

pytestmark = pytest.mark.integration
TARGET = Path(__file__).resolve().parents[2] / "dbt_project" / "target"


@pytest.fixture(scope="module")
def manifest(settings: Settings) -> dict:
    assert main(["docs", "--generate-only"]) == 0
    return json.loads((TARGET / "manifest.json").read_text())


def _core_models(manifest: dict) -> list[dict]:
    return [
        n for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "core"
    ]  # fmt: skip


def test_every_core_model_and_column_is_documented(manifest: dict) -> None:
    models = _core_models(manifest)
    assert models
    for model in models:
        assert model["description"].strip(), model["name"]
        assert model["columns"], model["name"]
        undocumented = [c for c, v in model["columns"].items() if not v["description"].strip()]
        assert not undocumented, (model["name"], undocumented)


def test_core_lineage_reaches_back_to_the_raw_sources(manifest: dict) -> None:
    parents = manifest["parent_map"]
    for model in _core_models(manifest):
        seen, todo = set(), [model["unique_id"]]
        while todo:
            node = todo.pop()
            for parent in parents.get(node, []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        raw = [
            s for s in seen if s.startswith("source.") and manifest["sources"][s]["schema"] == "raw"
        ]
        assert raw, f"{model['name']} does not reach a raw source"


def test_the_docs_site_is_served_on_loopback(manifest: dict, settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "aura_platform.cli.main", "docs", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline, body = time.monotonic() + 90, ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert "dbt" in body.lower()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/manifest.json", timeout=5) as r:
            assert "model.aura.odoo_opportunities" in json.loads(r.read())["nodes"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the CLI and the dbt server it started
        server.wait(timeout=10)
