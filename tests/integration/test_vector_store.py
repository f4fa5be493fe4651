"""search.embeddings against the real warehouse: incremental sync, HNSW index, k-NN queries.

Plans are read from ``auto_explain`` (sent to the client as LOG notices), so the tests see the plan
of the very statement ``nearest`` runs, not of a copy of it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector
from psycopg import sql

from aura_platform.search.embedding import DEFAULT_MODEL, Embedder, load_embedder
from aura_platform.search.vector_store import (
    ensure_hnsw_index,
    hnsw_index_name,
    nearest,
    sync_embeddings,
)
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

RANDOM_MODEL = "test-random-unit-vectors"
RANDOM_DIMENSIONS = 128
RANDOM_ROWS = 10_000  # enough rows that the planner prefers the HNSW index to a scan and sort
RARE_TABLE = "test.rare"  # every 20th random row: 5% of the model's rows


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder(DEFAULT_MODEL, batch_size=8)


@pytest.fixture
def conn(settings: Settings) -> Iterator[psycopg.Connection]:
    with connect(settings.warehouse_url) as connection:
        yield connection


@pytest.fixture
def source_table(conn: psycopg.Connection) -> Iterator[str]:
    """A table name of this test's own, so tests sharing the session warehouse never collide."""
    name = f"test.customers_{uuid.uuid4().hex[:8]}"
    yield name
    conn.rollback()
    conn.execute("delete from search.embeddings where source_table = %s", (name,))
    conn.commit()


@pytest.fixture(scope="module")
def random_vectors(settings: Settings) -> Iterator[np.ndarray]:
    """Unit vectors stored directly under a test model, with its HNSW index; row i is id str(i)."""
    vectors = np.random.default_rng(7).normal(size=(RANDOM_ROWS, RANDOM_DIMENSIONS))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    with connect(settings.warehouse_url) as connection:
        register_vector(connection)
        with connection.cursor().copy(
            "copy search.embeddings (source_table, source_id, embedding_type, model, dimensions,"
            " content, content_hash, embedding) from stdin (format binary)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "int4", "text", "text", "vector"])
            for i, vector in enumerate(vectors):
                table = RARE_TABLE if i % 20 == 0 else "test.common"
                row = (table, str(i), "identity", RANDOM_MODEL, RANDOM_DIMENSIONS, f"row {i}", "-")
                copy.write_row((*row, vector))
        connection.commit()
        ensure_hnsw_index(connection, model=RANDOM_MODEL, dimensions=RANDOM_DIMENSIONS)
        connection.execute("analyze search.embeddings")
        connection.commit()
        yield vectors
        connection.execute("delete from search.embeddings where model = %s", (RANDOM_MODEL,))
        connection.execute(
            sql.SQL("drop index search.{}").format(sql.Identifier(hnsw_index_name(RANDOM_MODEL)))
        )
        connection.commit()


@pytest.fixture
def plans(conn: psycopg.Connection) -> list[str]:
    """Plans of every statement ``conn`` runs from now on, as auto_explain reports them."""
    collected: list[str] = []
    try:
        conn.execute("load 'auto_explain'")
    except psycopg.errors.InsufficientPrivilege:
        pytest.skip("auto_explain needs a superuser (external warehouse)")
    conn.execute("set auto_explain.log_min_duration = 0")
    conn.execute("set client_min_messages = log")
    conn.commit()
    conn.add_notice_handler(lambda notice: collected.append(notice.message_primary or ""))
    return collected


def _stored(conn: psycopg.Connection, source_table: str) -> dict[str, str]:
    rows = conn.execute(
        "select source_id, content from search.embeddings where source_table = %s",
        (source_table,),
    ).fetchall()
    return dict(rows)


def _scans(plans: list[str]) -> list[str]:
    return [line.strip() for plan in plans for line in plan.splitlines() if "Scan" in line]


TEXTS: dict[str, str | None] = {
    "1": "Acme Corporation, Seattle, USA",
    "2": "Globex Ltd, London, United Kingdom",
    "3": "Initech GmbH, Berlin, Germany",
    "4": "Umbrella SAS, Lyon, France",
    "5": "Stark Industries, New York, USA",
}


def test_first_sync_embeds_every_text_and_an_unchanged_rerun_calls_no_model(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    first = sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )
    again = sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )

    assert (first.embedded, first.skipped, first.removed, first.empty) == (5, 0, 0, 0)
    assert first.model_calls == 1  # five texts, batches of eight
    assert (again.embedded, again.skipped, again.model_calls) == (0, 5, 0)
    assert _stored(conn, source_table) == TEXTS


def test_stored_rows_carry_the_model_its_dimensions_and_the_embedder_vector(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    sync_embeddings(
        conn, source_table=source_table, embedding_type="context", texts=TEXTS, embedder=embedder
    )
    register_vector(conn)

    model, dimensions, embedding_type, vector = conn.execute(
        "select model, dimensions, embedding_type, embedding from search.embeddings"
        " where source_table = %s and source_id = '3'",
        (source_table,),
    ).fetchone()

    assert (model, dimensions, embedding_type) == ("all-MiniLM-L6-v2", 384, "context")
    np.testing.assert_allclose(vector.to_numpy(), embedder.encode([TEXTS["3"]])[0], atol=1e-5)


def test_a_changed_text_is_the_only_one_embedded_again(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )
    changed = {**TEXTS, "2": "Globex Limited, Manchester, United Kingdom"}

    stats = sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=changed, embedder=embedder
    )

    assert (stats.embedded, stats.skipped, stats.removed, stats.model_calls) == (1, 4, 0, 1)
    assert _stored(conn, source_table) == changed


def test_an_id_missing_from_the_texts_loses_its_row(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )
    remaining = {sid: text for sid, text in TEXTS.items() if sid != "4"}

    stats = sync_embeddings(
        conn,
        source_table=source_table,
        embedding_type="identity",
        texts=remaining,
        embedder=embedder,
    )

    assert (stats.embedded, stats.skipped, stats.removed, stats.model_calls) == (0, 4, 1, 0)
    assert _stored(conn, source_table) == remaining


def test_empty_texts_are_counted_never_stored_and_clear_an_earlier_embedding(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )
    with_blanks = {**TEXTS, "5": "   ", "6": None, "7": ""}

    stats = sync_embeddings(
        conn,
        source_table=source_table,
        embedding_type="identity",
        texts=with_blanks,
        embedder=embedder,
    )

    assert (stats.embedded, stats.skipped, stats.removed, stats.empty) == (0, 4, 1, 3)
    assert set(_stored(conn, source_table)) == {"1", "2", "3", "4"}


def test_identity_and_context_embeddings_of_a_row_are_synced_independently(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )

    context = sync_embeddings(
        conn, source_table=source_table, embedding_type="context", texts={}, embedder=embedder
    )

    assert (context.embedded, context.removed) == (0, 0)
    assert _stored(conn, source_table) == TEXTS


def test_inside_a_callers_transaction_the_sync_is_undone_by_its_rollback(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    conn.execute("select 1")  # opens the caller's transaction

    sync_embeddings(
        conn, source_table=source_table, embedding_type="identity", texts=TEXTS, embedder=embedder
    )
    conn.rollback()

    assert _stored(conn, source_table) == {}


def test_the_nearest_synced_text_is_the_one_closest_in_meaning(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    texts = {
        "invoice": "Invoice 2024-001 for cloud hosting services, due in 30 days",
        "meeting": "Quarterly business review meeting with the sales team",
        "shipment": "Container shipment delayed at the port of Rotterdam",
    }
    sync_embeddings(
        conn, source_table=source_table, embedding_type="context", texts=texts, embedder=embedder
    )
    ensure_hnsw_index(conn, model=embedder.model_name, dimensions=embedder.dimensions)
    query = embedder.encode(["unpaid bill for server rental"])[0]

    hits = nearest(
        conn,
        query_vector=query,
        model=embedder.model_name,
        dimensions=embedder.dimensions,
        k=3,
        source_table=source_table,
        embedding_type="context",
    )

    assert len(hits) == 3
    assert (hits[0].source_id, hits[0].content) == ("invoice", texts["invoice"])
    assert hits[0].similarity > hits[1].similarity >= hits[2].similarity


def test_ensure_hnsw_index_is_idempotent_and_indexes_the_models_rows_by_cosine(
    conn: psycopg.Connection, random_vectors: np.ndarray
) -> None:
    name = ensure_hnsw_index(conn, model=RANDOM_MODEL, dimensions=RANDOM_DIMENSIONS)

    definitions = conn.execute(
        "select indexdef from pg_indexes where schemaname = 'search' and indexname = %s", (name,)
    ).fetchall()

    assert name == hnsw_index_name(RANDOM_MODEL)
    assert len(definitions) == 1
    definition = definitions[0][0]
    assert "USING hnsw (((embedding)::vector(128)) vector_cosine_ops)" in definition
    assert "m='16'" in definition and "ef_construction='64'" in definition
    assert f"WHERE (model = '{RANDOM_MODEL}'::text)" in definition


def test_embedding_steps_of_one_model_ensuring_its_first_index_at_once_all_succeed(
    settings: Settings,
) -> None:
    """Parallel steps (multiprocess, Celery) meet at a model's first index: none may deadlock.

    One connection holds an open write on search.embeddings while four others ensure the same
    missing index: they wait for that write instead of failing, and exactly one index results.
    """
    model = f"test-parallel-{uuid.uuid4().hex[:8]}"
    name = hnsw_index_name(model)
    writer = connect(settings.warehouse_url)
    writer.execute(
        "insert into search.embeddings (source_table, source_id, embedding_type, model,"
        " dimensions, content, content_hash, embedding)"
        " values ('test.parallel', '1', 'identity', %s, 3, 'x', '-', '[1,0,0]')",
        (model,),
    )

    def ensure(_: int) -> str:
        with connect(settings.warehouse_url) as connection:
            return ensure_hnsw_index(connection, model=model, dimensions=3)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = pool.map(ensure, range(4))
            time.sleep(1.0)  # let every ensure reach its lock while the write is still open
            writer.commit()
            names = list(results)
        with connect(settings.warehouse_url) as check:
            count = check.execute(
                "select count(*) from pg_indexes where schemaname = 'search' and indexname = %s",
                (name,),
            ).fetchone()
        assert names == [name] * 4
        assert count == (1,)
    finally:
        writer.rollback()
        writer.execute("delete from search.embeddings where model = %s", (model,))
        writer.execute(sql.SQL("drop index if exists search.{}").format(sql.Identifier(name)))
        writer.commit()
        writer.close()


def test_nearest_is_answered_by_the_hnsw_index(
    conn: psycopg.Connection, random_vectors: np.ndarray, plans: list[str]
) -> None:
    hits = nearest(
        conn,
        query_vector=random_vectors[42],
        model=RANDOM_MODEL,
        dimensions=RANDOM_DIMENSIONS,
        k=10,
    )

    assert any(f"Index Scan using {hnsw_index_name(RANDOM_MODEL)}" in s for s in _scans(plans))
    assert len(hits) == 10
    assert hits[0].source_id == "42"
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)
    similarities = [hit.similarity for hit in hits]
    assert similarities == sorted(similarities, reverse=True)


def test_a_filter_matching_few_rows_still_gets_k_hits_thanks_to_iterative_scan(
    conn: psycopg.Connection, random_vectors: np.ndarray, plans: list[str]
) -> None:
    query = random_vectors[7]  # a common row: its neighbours are mostly filtered out
    register_vector(conn)
    # Control: the same index scan without iterative scan runs dry after ef_search candidates.
    with conn.transaction():
        conn.execute("set local hnsw.ef_search = 10")
        conn.execute("set local hnsw.iterative_scan = off")
        without = conn.execute(
            sql.SQL(
                "select source_id from search.embeddings"
                " where model = {model} and source_table = %(table)s"
                " order by embedding::vector(128) <=> %(query)s::vector(128) limit 10"
            ).format(model=sql.Literal(RANDOM_MODEL)),
            {"table": RARE_TABLE, "query": query},
        ).fetchall()

    hits = nearest(
        conn,
        query_vector=query,
        model=RANDOM_MODEL,
        dimensions=RANDOM_DIMENSIONS,
        k=10,
        source_table=RARE_TABLE,
        ef_search=10,
    )

    index_scans = [s for s in _scans(plans) if hnsw_index_name(RANDOM_MODEL) in s]
    assert len(index_scans) == 2  # the control and nearest both used the HNSW index
    assert len(without) < 10
    assert len(hits) == 10
    assert {hit.source_table for hit in hits} == {RARE_TABLE}
    assert all(int(hit.source_id) % 20 == 0 for hit in hits)
    # relaxed_order returns candidates slightly out of order: the outer sort must survive
    # planning (PostgreSQL 17+ would otherwise trust the CTE's order and drop it).
    outer = plans[-1].split("CTE candidates")[0]
    assert "Sort Key" in outer, plans[-1]
    scores = [hit.similarity for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_query_vector_of_the_wrong_size_is_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(ValueError, match=r"expected \(384,\)"):
        nearest(conn, query_vector=[0.1, 0.2], model=DEFAULT_MODEL, dimensions=384)


def test_index_names_are_short_safe_and_distinct_for_long_similar_model_names() -> None:
    base = "Org/Some-Very-Long-Model-Name-" + "x" * 60
    first, second = hnsw_index_name(base + "-v1"), hnsw_index_name(base + "-v2")

    assert first != second
    for name in (first, second, hnsw_index_name("BAAI/bge-m3")):
        assert len(name) <= 63
        assert re.fullmatch(r"[a-z0-9_]+", name)
    assert hnsw_index_name("BAAI/bge-m3").startswith("embeddings_hnsw_baai_bge_m3_")


def test_a_text_type_declared_in_configuration_is_stored_like_the_shipped_ones(
    conn: psycopg.Connection, source_table: str, embedder: Embedder
) -> None:
    stats = sync_embeddings(
        conn, source_table=source_table, embedding_type="project", texts=TEXTS, embedder=embedder
    )

    assert stats.embedded == len(TEXTS)
    stored = conn.execute(
        "select distinct embedding_type from search.embeddings where source_table = %s",
        (source_table,),
    ).fetchall()
    assert stored == [("project",)]
