"""Load and validate ``assets_config/``; errors name the file and the key that is wrong."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aura_platform.config.models import EmbeddingsFile, QualityFile, SourcesFile, SuiteConfig
from aura_platform.settings import PROJECT_ROOT

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
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


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


@cache
def load_embeddings(config_dir: Path = CONFIG_DIR) -> EmbeddingsFile:
    """The validated ``embeddings.yaml``."""
    return load_yaml_model(config_dir / "embeddings.yaml", EmbeddingsFile)


@cache
def load_quality(config_dir: Path = CONFIG_DIR) -> QualityFile:
    """The validated ``quality.yaml``, whose sources and tables must exist in ``sources.yaml``."""
    path = config_dir / "quality.yaml"
    quality = load_yaml_model(path, QualityFile)
    sources = load_sources(config_dir).sources
    for key, ref in quality.references():
        source, _, table = ref.partition(".")
        if source not in sources or (table and table not in sources[source].tables):
            raise ConfigError(f"{path}: {key}: {ref!r} is not a source or table in sources.yaml")
    return quality
