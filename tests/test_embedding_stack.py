"""A broken embedding stack is named in seconds: by `aura doctor`, and by `aura demo` refusing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aura_platform.ops.health import run_checks
from aura_platform.search import embedding_stack
from aura_platform.settings import Settings

AURA = str(Path(sys.executable).with_name("aura"))
MISSING = "transformers.modeling_attn_mask_utils"


@pytest.fixture
def broken_flagembedding(tmp_path: Path) -> dict[str, str]:
    """An environment where FlagEmbedding fails to import as 1.4.2 does beside transformers 5.

    The stand-in package shadows the real one on PYTHONPATH and raises the error that release
    raised; torch, transformers and sentence-transformers stay the real, locked ones.
    """
    package = tmp_path / "shadow" / "FlagEmbedding"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{MISSING}'\", name={MISSING!r})\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = str(s.getsockname()[1])
    return {
        **os.environ,
        "PYTHONPATH": str(package.parent),
        "AURA_HOME": str(tmp_path / "home"),
        "AURA_DATA_DIR": str(tmp_path / "data"),
        "AURA_PG_PORT": closed_port,  # nothing may start: the refusal comes first
    }


def test_aura_demo_refuses_to_start_naming_the_package_that_cannot_import(
    broken_flagembedding: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [AURA, "demo", "--scale", "0.05"],
        env=broken_flagembedding,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to start" in done.stderr
    assert "cannot import FlagEmbedding" in done.stderr
    assert MISSING in done.stderr
    assert "transformers 4." in done.stderr  # the installed versions, for the bug report
    assert not (tmp_path / "data").exists()  # no demo source was generated, no minutes spent


def test_aura_doctor_reports_the_broken_stack_as_down(
    broken_flagembedding: dict[str, str],
) -> None:
    done = subprocess.run(
        [AURA, "doctor", "--json"],
        env=broken_flagembedding,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    checks = {c["component"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["embedding model"]["status"] == "down"
    assert MISSING in checks["embedding model"]["reason"]


def test_doctor_loads_the_bundled_model_and_embeds_a_text(tmp_path: Path) -> None:
    settings = Settings.from_env({"AURA_HOME": str(tmp_path), "AURA_PG_PORT": "1"})
    check = next(
        c for c in run_checks(settings, load_model=True) if c.component == "embedding model"
    )
    assert check.status == "healthy", check.reason
    assert "loaded and ran: 384 dimensions" in check.reason
    assert "norm 1.000" in check.reason


def test_a_model_that_is_neither_a_folder_nor_cached_is_not_found() -> None:
    with pytest.raises(embedding_stack.EmbeddingStackError, match="Hugging Face cache"):
        embedding_stack.locate_model("aura-tests/no-such-model")
    with pytest.raises(embedding_stack.EmbeddingStackError, match="no such folder"):
        embedding_stack.locate_model("/no/such/model/folder")
