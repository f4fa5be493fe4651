"""Load and validate ``assets_config/``; errors name the file and the key that is wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aura_platform.config.gx_catalog import referenced_columns
from aura_platform.config.models import (
    EmbeddingsFile,
    MatchingFile,
    SourcesFile,
    SuiteConfig,
)
from aura_platform.settings import PROJECT_ROOT, Settings

CONFIG_DIR = PROJECT_ROOT / "assets_config"
M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid."""


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse ``path`` into ``model``, turning YAML and validation errors into one clear message."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f": line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(path.read_text())
        problems = "; ".join(
            f"line {_line(root, err['loc'])}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def config_error(path: Path, loc: Sequence[str | int], message: str) -> ConfigError:
    """A ConfigError for a value found wrong after parsing, pointing at its line in ``path``."""
    line = _line(yaml.compose(path.read_text()), loc)
    return ConfigError(f"{path}: line {line}: {'.'.join(str(p) for p in loc)}: {message}")


def _line(root: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """The 1-based line of the deepest node of ``loc`` that exists (a missing key: its parent)."""
    node = root
    line = 1 if root is None else root.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value if isinstance(value, yaml.CollectionNode) else key
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
            line = child.start_mark.line + 1 if child is not None else line
        if child is None:
            break
        node = child
    return line


@cache
def load_sources(config_dir: Path = CONFIG_DIR) -> SourcesFile:
    """The validated ``sources.yaml``."""
    return load_yaml_model(config_dir / "sources.yaml", SourcesFile)


@cache
def load_suites(config_dir: Path = CONFIG_DIR) -> tuple[tuple[Path, SuiteConfig], ...]:
    """Every expectation suite in ``expectations/``, with the file it came from."""
    return tuple(
        (path, load_yaml_model(path, SuiteConfig))
        for path in sorted((config_dir / "expectations").glob("*.yaml"))
    )


def check_suite_columns(
    path: Path, suite: SuiteConfig, declared: Mapping[str, frozenset[str]]
) -> None:
    """Refuse a suite that names a column its table does not declare.

    ``declared`` maps ``schema.table`` to its columns (the dbt manifest's, plus the raw metadata
    columns). A wrong column name would otherwise fail only when the check runs.
    """
    if suite.table not in declared:
        raise config_error(path, ["table"], f"{suite.table} is not a dbt source or model")
    columns = declared[suite.table]
    if not columns:
        raise config_error(
            path,
            ["table"],
            f"{suite.table} declares no columns; list the columns this suite checks in its dbt "
            "YAML (sources or models)",
        )
    references: list[tuple[list[str | int], str]] = [
        (["key_columns", i], column) for i, column in enumerate(suite.key_columns)
    ]
    for i, item in enumerate(suite.expectations):
        references += [
            (["expectations", i, "kwargs", argument], column)
            for argument, column in referenced_columns(item.expectation, item.kwargs)
        ]
    for loc, column in references:
        if column not in columns:
            raise config_error(
                path,
                loc,
                f"{suite.table} has no column {column!r} (declared: {', '.join(sorted(columns))})",
            )


@cache
def load_embeddings(config_dir: Path = CONFIG_DIR) -> EmbeddingsFile:
    """The validated ``embeddings.yaml``, every table's text types among its ``text_types``."""
    path = config_dir / "embeddings.yaml"
    embeddings = load_yaml_model(path, EmbeddingsFile)
    for loc, text_type in embeddings.unknown_text_types():
        raise config_error(
            path,
            loc,
            f"unknown text type {text_type!r} (text_types declares: "
            f"{', '.join(embeddings.text_types)})",
        )
    return embeddings


@cache
def load_matching(config_dir: Path = CONFIG_DIR) -> MatchingFile:
    """The validated ``matching.yaml``."""
    return load_yaml_model(config_dir / "matching.yaml", MatchingFile)


def landing_dir(settings: Settings) -> Path:
    """The folder of the ``csv_landing`` source in ``sources.yaml``, under the data folder."""
    folder = load_sources().landing_source()[1].folder
    assert folder is not None  # required for csv_landing by the config model
    return settings.data_dir / folder
