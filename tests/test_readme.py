"""The README stays true to the code: its variables table and its two set-up commands."""

import re
from pathlib import Path

from aura_platform.settings import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def test_the_variables_table_lists_exactly_the_settings_variables() -> None:
    block = _readme().split("<!-- env-vars:start -->")[1].split("<!-- env-vars:end -->")[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (.+?) \|$", block, flags=re.M))
    assert rows == ENV_VARS


def test_set_up_has_two_commands_and_ci_runs_the_test_one() -> None:
    setup = _readme().split("## Set-up")[1].split("\n## ")[0]
    commands = re.findall(r"^(make \w+)", setup.split("```bash")[1].split("```")[0], flags=re.M)
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)
