"""``embeddings.yaml``: text types are configuration, validated at load and used as declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_platform.config.loader import ConfigError, load_embeddings
from aura_platform.defs.search.assets import matched_embedding_keys, texts_query
from aura_platform.search.matching import ACE_TABLE, ODOO_TABLE

ODOO_AND_ACE = """
  odoo_opportunities:
    source: core.odoo_opportunities
    id_column: opportunity_id
    texts: {identity: [company_name], context: [opportunity_name]}
  ace_opportunities:
    source: core.ace_opportunities
    id_column: opportunity_id
    texts: {identity: [customer_company_name], %s: [project_title]}
"""


def _embeddings(tmp_path: Path, text_types: str, ace_second_type: str = "context") -> Path:
    (tmp_path / "embeddings.yaml").write_text(
        f"text_types:\n{text_types}tables:{ODOO_AND_ACE % ace_second_type}"
    )
    return tmp_path


def test_the_shipped_text_types_are_those_the_tables_and_matching_use() -> None:
    embeddings = load_embeddings()

    assert set(embeddings.text_types) == {"identity", "context"}
    assert all(set(t.texts) <= set(embeddings.text_types) for t in embeddings.tables.values())
    assert len(matched_embedding_keys(embeddings, ODOO_TABLE, ACE_TABLE)) == 2


def test_a_text_type_the_file_does_not_declare_is_refused_with_its_line_and_key(
    tmp_path: Path,
) -> None:
    folder = _embeddings(tmp_path, "  identity: who\n  context: what\n", "contxt")

    with pytest.raises(ConfigError) as error:
        load_embeddings.__wrapped__(folder)

    message = str(error.value)
    assert "line 12: tables.ace_opportunities.texts.contxt" in message
    assert "unknown text type 'contxt' (text_types declares: identity, context)" in message


def test_a_new_text_type_is_declared_once_and_embedded_from_its_columns(tmp_path: Path) -> None:
    folder = _embeddings(tmp_path, "  identity: who\n  context: what\n  project: the work\n")
    (folder / "embeddings.yaml").write_text(
        (folder / "embeddings.yaml")
        .read_text()
        .replace("context: [opportunity_name]}", "context: [opportunity_name], project: [stage]}")
    )

    embeddings = load_embeddings.__wrapped__(folder)
    query = texts_query(embeddings.tables["odoo_opportunities"], "project").as_string()

    assert set(embeddings.text_types) == {"identity", "context", "project"}
    assert '"stage"' in query and '"opportunity_name"' not in query


def test_matching_refuses_a_matched_table_without_a_text_type_it_compares(
    tmp_path: Path,
) -> None:
    folder = _embeddings(tmp_path, "  identity: who\n  context: what\n  project: work\n", "project")
    embeddings = load_embeddings.__wrapped__(folder)

    with pytest.raises(ConfigError, match=r"tables\.ace_opportunities\.texts: .* has no context"):
        matched_embedding_keys(embeddings, ODOO_TABLE, ACE_TABLE)
