"""What the dbt project declares about each relation, read from its manifest without dbt."""

from __future__ import annotations

import json
from pathlib import Path


def declared_columns(manifest_path: Path) -> dict[str, frozenset[str]]:
    """Columns declared (documented) per ``schema.table``, for dbt sources and models alike.

    The raw tables are dbt sources and the core tables dbt models, so the manifest is the one
    place that names the columns of both before any of them exist in the warehouse.
    """
    manifest = json.loads(manifest_path.read_text())
    relations: dict[str, frozenset[str]] = {}
    for source in manifest["sources"].values():
        relations[f"{source['schema']}.{source['identifier']}"] = frozenset(source["columns"])
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "snapshot", "seed"):
            relations[f"{node['schema']}.{node['alias']}"] = frozenset(node["columns"])
    return relations
