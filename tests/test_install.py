"""The installed environment is exactly the lock: consistent, CPU-only torch, no stray versions.

CI installs from ``requirements.lock`` on a clean clone; these tests make a venv that drifted
from the lock (an old install kept by a machine, a package upgraded by hand) fail loudly
instead of passing for reasons that a new machine would not share.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\\]+)")
CUDA_PREFIXES = ("nvidia-", "triton")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[_canonical(match[1])] = match[2]
    return pins


def test_pip_check_finds_no_broken_requirements() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_locked_package_is_installed_at_its_locked_version() -> None:
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    drift = {
        name: (version, installed.get(name, "missing"))
        for name, version in _locked().items()
        if installed.get(name) != version
    }
    assert not drift, f"venv differs from requirements.lock (locked, installed): {drift}"


def test_the_lock_pins_torch_to_its_cpu_build_and_no_cuda_wheel() -> None:
    pins = _locked()
    assert pins["torch"].endswith("+cpu")
    assert not [name for name in pins if name.startswith(CUDA_PREFIXES)]
    assert not [
        d.metadata["Name"]
        for d in metadata.distributions()
        if _canonical(d.metadata["Name"]).startswith(CUDA_PREFIXES)
    ]


def test_every_locked_line_carries_a_hash() -> None:
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1])
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert not unhashed
