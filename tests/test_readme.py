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


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_every_link_from_the_readme_and_docs_reaches_a_file_and_heading() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if "://" in target:
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and anchor not in _anchors(linked.read_text())):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_readme_starts_with_a_way_in_and_keeps_reference_in_docs() -> None:
    readme = _readme()
    first = readme.split("## First ten minutes")[1].split("\n## ")[0]
    assert "make demo" in first and "http://127.0.0.1:3000" in first
    assert ".venv/bin/aura dev" in first and "source .venv/bin/activate" in first
    assert (
        readme.index("## First ten minutes")
        < readme.index("## Contents")
        < readme.index("## Set-up")
    )
    assert "## Benchmarks" not in readme  # measured tables live in docs/benchmarks.md
