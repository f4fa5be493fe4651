"""`aura search` as a user runs it, against embeddings written with the real bundled model.

Next to a few real texts the module stores synthetic vectors of the same model: clusters around
the real texts' vectors, the one around the invoice text in another table. A query about an
unpaid bill then has mostly other-table rows as its nearest neighbours, so a ``--table`` filter
returns k rows only if the HNSW scan keeps going past them (pgvector's iterative scan).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector
from psycopg import sql

from aura_platform.cli.main import main
from aura_platform.config.loader import load_embeddings
from aura_platform.search.embedding import DEFAULT_MODEL, load_embedder
from aura_platform.search.vector_store import ensure_hnsw_index, hnsw_index_name, sync_embeddings
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

# The only tables --table accepts are the configured ones.
TABLE = next(iter(load_embeddings().tables.values())).source
OTHER_TABLE = "test.search_cli_others"
CONTEXTS = {
    "invoice": "Invoice 2024-001 for cloud hosting services, due in 30 days",
    "migration": "Data lake migration of the on-premises Hadoop cluster to S3",
    "sap": "SAP on AWS: move the ERP production landscape to EC2",
    "security": "Security review and landing zone with Control Tower",
    "contact-centre": "Contact centre modernisation with Amazon Connect",
    "forecasting": "Machine learning platform for demand forecasting with SageMaker",
}
IDENTITIES = {
    "acme": "Acme Corporation | John Smith | acme.com",
    "globex": "Globex Ltd | Jane Doe | globex.co.uk",
}
SYNTHETIC_ROWS = 10_000  # enough that the planner prefers the HNSW index to a scan and sort
QUERY = "unpaid bill for server rental"


@pytest.fixture(scope="module")
def stored(settings: Settings) -> Iterator[None]:
    """The real texts in TABLE, synthetic clusters around them, and the model's HNSW index."""
    embedder = load_embedder(DEFAULT_MODEL, batch_size=16)
    centres = embedder.encode(list(CONTEXTS.values()))
    rng = np.random.default_rng(11)
    cluster = np.arange(SYNTHETIC_ROWS) % len(centres)
    # Noise of norm ~1.5 leaves each vector at cosine ~0.55 from its centre: near it, yet
    # farther from any query than the real text it surrounds.
    vectors = centres[cluster] + 1.5 * rng.normal(size=(SYNTHETIC_ROWS, 384)) / np.sqrt(384)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    invoice = list(CONTEXTS).index("invoice")
    with connect(settings.warehouse_url) as conn:
        _delete_rows(conn)
        for embedding_type, texts in (("context", CONTEXTS), ("identity", IDENTITIES)):
            sync_embeddings(
                conn,
                source_table=TABLE,
                embedding_type=embedding_type,
                texts=texts,
                embedder=embedder,
            )
        # Loading into no index and building it afterwards is much faster than the other way.
        conn.execute(
            sql.SQL("drop index if exists search.{}").format(
                sql.Identifier(hnsw_index_name(DEFAULT_MODEL))
            )
        )
        register_vector(conn)
        with conn.cursor().copy(
            "copy search.embeddings (source_table, source_id, embedding_type, model, dimensions,"
            " content, content_hash, embedding) from stdin (format binary)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "int4", "text", "text", "vector"])
            for i, vector in enumerate(vectors.astype(np.float32)):
                table = OTHER_TABLE if cluster[i] == invoice else TABLE
                row = (table, f"synthetic-{i}", "context", DEFAULT_MODEL, 384, f"synthetic {i}")
                copy.write_row((*row, "-", vector))
        conn.commit()
        ensure_hnsw_index(conn, model=DEFAULT_MODEL, dimensions=384)
        conn.execute("analyze search.embeddings")
        conn.commit()
        yield
        _delete_rows(conn)


def _delete_rows(conn: psycopg.Connection) -> None:
    conn.execute(
        "delete from search.embeddings where model = %s and source_table = any(%s)",
        (DEFAULT_MODEL, [TABLE, OTHER_TABLE]),
    )
    conn.commit()


def _search(capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    """Run ``aura search``; the rows it printed, as [rank, score, table, id, type, content]."""
    assert main(["search", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RANK", "SCORE", "TABLE", "ID", "TYPE", "CONTENT"]
    rows = [line.split(maxsplit=5) for line in lines[1 : lines.index("")]]
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))
    return rows


def _hnsw_scans(settings: Settings) -> int:
    with connect(settings.warehouse_url, autocommit=True) as conn:
        row = conn.execute(
            "select idx_scan from pg_stat_user_indexes"
            " where schemaname = 'search' and indexrelname = %s",
            (hnsw_index_name(DEFAULT_MODEL),),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_nearest_row_is_printed_first_with_its_score_and_the_hnsw_index_answers(
    settings: Settings, stored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    scans_before = _hnsw_scans(settings)

    rows = _search(capsys, QUERY, "--table", TABLE, "--k", "3")

    assert len(rows) == 3
    assert rows[0][2:] == [TABLE, "invoice", "context", CONTEXTS["invoice"]]
    scores = [float(row[1]) for row in rows]
    assert 0 < scores[0] <= 1 and scores == sorted(scores, reverse=True)
    # The CLI's connection is closed; its server process reports its statistics on exit.
    deadline = time.monotonic() + 10
    while _hnsw_scans(settings) == scans_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _hnsw_scans(settings) > scans_before


def test_k_sets_how_many_rows_are_printed(stored: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(_search(capsys, QUERY, "--k", "7")) == 7
    assert len(_search(capsys, QUERY)) == 10


def test_a_table_filter_still_gets_k_rows_when_other_tables_hold_the_nearest_ones(
    settings: Settings,
    stored: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AURA_HNSW_EF_SEARCH", "10")
    query = load_embedder(DEFAULT_MODEL).encode([QUERY])[0]
    # Control: the same index scan without iterative scan stops after ef_search candidates.
    with connect(settings.warehouse_url) as conn:
        register_vector(conn)
        conn.execute("set hnsw.ef_search = 10")
        conn.execute("set hnsw.iterative_scan = off")
        without = conn.execute(
            sql.SQL(
                "select source_id from search.embeddings"
                " where model = {model} and source_table = %(table)s"
                " order by embedding::vector(384) <=> %(query)s::vector(384) limit 20"
            ).format(model=sql.Literal(DEFAULT_MODEL)),
            {"table": TABLE, "query": query},
        ).fetchall()

    rows = _search(capsys, QUERY, "--table", TABLE, "--k", "20")

    assert len(without) < 20
    assert len(rows) == 20
    assert {row[2] for row in rows} == {TABLE}
    assert rows[0][3] == "invoice"


def test_a_type_filter_returns_only_that_type(
    stored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _search(capsys, "Acme Corporation", "--table", TABLE, "--type", "identity")

    assert sorted(row[3] for row in rows) == sorted(IDENTITIES)
    assert rows[0][3] == "acme"
    assert {row[4] for row in rows} == {"identity"}


def test_an_unknown_table_is_refused_with_the_tables_that_exist(
    stored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", QUERY, "--table", "core.no_such_table"]) == 2

    err = capsys.readouterr().err
    assert "unknown table 'core.no_such_table'" in err
    assert TABLE in err


def test_an_unknown_text_type_is_refused_with_the_configured_ones(
    stored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", QUERY, "--type", "identiy"]) == 2

    err = capsys.readouterr().err
    assert "unknown text type 'identiy'; text types: identity, context" in err


def test_without_embeddings_of_the_model_it_says_to_run_the_main_job(
    stored: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AURA_EMBEDDING_MODEL", "test/model-with-no-embeddings")

    assert main(["search", QUERY]) == 1

    out = capsys.readouterr().out
    assert "no embeddings of model test/model-with-no-embeddings yet" in out
    assert "aura run" in out
