"""The pgvector store behind search: incremental embedding sync, per-model HNSW indexes, k-NN.

``search.embeddings.embedding`` is an untyped ``vector`` so that models of any size share the
table. Each model gets a partial HNSW index over ``embedding::vector(<dimensions>)`` restricted to
``model = '<name>'``; queries repeat that cast and that predicate, with the model as a literal
rather than a parameter, because the planner only picks a partial index whose predicate it can
prove from the query text.

Each public function runs in ``conn.transaction()``: on an idle connection that is a transaction
of its own, committed on success; inside a transaction the caller opened it is a savepoint, and
the caller's commit decides.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from aura_platform.search.embedding import Embedder

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# Texts handed to the embedder at a time while streaming into COPY: bounds memory, not batching.
_ENCODE_CHUNK = 4096
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
_INDEX_PREFIX = "embeddings_hnsw_"


@dataclass(frozen=True)
class EmbedStats:
    """What one ``sync_embeddings`` call did.

    Attributes:
        embedded: Texts new or changed since the last sync, embedded and upserted.
        skipped: Texts unchanged since the last sync (same text, same model).
        removed: Stored rows deleted: their id is gone from ``texts`` or its text is now empty.
        empty: Ids whose text is None or blank; never embedded.
        model_calls: Model calls the embedding took.
    """

    embedded: int
    skipped: int
    removed: int
    empty: int
    model_calls: int


@dataclass(frozen=True)
class Hit:
    """One nearest neighbour; ``similarity`` is cosine similarity, 1 for the same direction."""

    source_table: str
    source_id: str
    embedding_type: str
    content: str
    similarity: float


def sync_embeddings(
    conn: psycopg.Connection,
    *,
    source_table: str,
    embedding_type: str,
    texts: Mapping[str, str | None],
    embedder: Embedder,
) -> EmbedStats:
    """Make the stored embeddings of one (table, type, model) match ``texts``; embed only changes.

    A text is unchanged when the sha256 of the model name and the exact text equals the stored
    ``content_hash``. New and changed texts are embedded, copied into a temporary stage table and
    upserted; rows whose id is missing from ``texts``, or whose text is now None or blank, are
    deleted. Atomic (see the module docstring).

    Args:
        conn: A warehouse connection.
        source_table: The table the texts describe, e.g. ``core.customers``.
        embedding_type: Which text of a row this is: a text type of ``embeddings.yaml``.
        texts: Every current row id of ``source_table`` and its text.
        embedder: The model; its name is stored with each row.

    Returns:
        The counts of the sync.
    """
    model = embedder.model_name
    present = {sid: text for sid, text in texts.items() if text is not None and text.strip()}
    hashes = {sid: _content_hash(model, text) for sid, text in present.items()}
    calls_before = embedder.calls
    key = {"source_table": source_table, "embedding_type": embedding_type, "model": model}
    with conn.transaction():
        stored: dict[str, str] = dict(
            conn.execute(
                """
                select source_id, content_hash from search.embeddings
                where source_table = %(source_table)s and embedding_type = %(embedding_type)s
                    and model = %(model)s
                """,
                key,
            ).fetchall()
        )
        changed = [sid for sid, digest in hashes.items() if stored.get(sid) != digest]
        gone = [sid for sid in stored if sid not in hashes]
        if changed:
            _stage(conn, {sid: present[sid] for sid in changed}, hashes, embedder)
            conn.execute(
                """
                insert into search.embeddings (
                    source_table, source_id, embedding_type, model, dimensions,
                    content, content_hash, embedding
                )
                select
                    %(source_table)s, source_id, %(embedding_type)s, %(model)s, %(dimensions)s,
                    content, content_hash, embedding
                from embedding_stage
                on conflict (source_table, source_id, embedding_type, model) do update set
                    dimensions = excluded.dimensions,
                    content = excluded.content,
                    content_hash = excluded.content_hash,
                    embedding = excluded.embedding,
                    updated_at = now()
                """,
                {**key, "dimensions": embedder.dimensions},
            )
        if gone:
            conn.execute(
                """
                delete from search.embeddings
                where source_table = %(source_table)s and embedding_type = %(embedding_type)s
                    and model = %(model)s and source_id = any(%(gone)s)
                """,
                {**key, "gone": gone},
            )
    return EmbedStats(
        embedded=len(changed),
        skipped=len(hashes) - len(changed),
        removed=len(gone),
        empty=len(texts) - len(present),
        model_calls=embedder.calls - calls_before,
    )


def _content_hash(model: str, text: str) -> str:
    """Keyed by model too, so switching models re-embeds even where rows already exist."""
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


def _stage(
    conn: psycopg.Connection,
    texts: Mapping[str, str],
    hashes: Mapping[str, str],
    embedder: Embedder,
) -> None:
    """Embed chunk by chunk straight into a binary COPY, so memory stays flat on large tables."""
    _register_vector(conn)
    conn.execute(
        """
        create temporary table if not exists embedding_stage (
            source_id text not null,
            content text not null,
            content_hash text not null,
            embedding vector not null
        ) on commit drop
        """
    )
    conn.execute("truncate embedding_stage")
    with conn.cursor().copy(
        "copy embedding_stage (source_id, content, content_hash, embedding) from stdin"
        " (format binary)"
    ) as copy:
        copy.set_types(["text", "text", "text", "vector"])
        for ids in _chunks(list(texts), _ENCODE_CHUNK):
            vectors = embedder.encode([texts[sid] for sid in ids])
            for sid, vector in zip(ids, vectors, strict=True):
                copy.write_row((sid, texts[sid], hashes[sid], vector))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """Fixed-size slices, the last one shorter."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _register_vector(conn: psycopg.Connection) -> None:
    """pgvector's adapters, once per connection: registering costs a catalogue round trip."""
    if conn.adapters.types.get("vector") is None:
        register_vector(conn)


def hnsw_index_name(model: str) -> str:
    """The name of a model's HNSW index: readable, unique per model, within 63 characters.

    Args:
        model: The model name, as stored in ``search.embeddings.model``.

    Returns:
        ``embeddings_hnsw_<model as [a-z0-9_]>_<8 hex digits of its sha1>``, shortened to fit.
    """
    digest = hashlib.sha1(model.encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    room = _MAX_IDENTIFIER - len(_INDEX_PREFIX) - len(digest) - 1
    return f"{_INDEX_PREFIX}{slug[:room].rstrip('_')}_{digest}"


def ensure_hnsw_index(conn: psycopg.Connection, *, model: str, dimensions: int) -> str:
    """Create the model's partial HNSW cosine index on ``search.embeddings`` if it is missing.

    Args:
        conn: A warehouse connection.
        model: The model whose rows the index covers.
        dimensions: The model's vector size; every row of the model must have it.

    Returns:
        The index name (see ``hnsw_index_name``).
    """
    name = hnsw_index_name(model)
    with conn.transaction():
        # Embedding steps of one model may run at once (multiprocess or Celery executors). The
        # advisory lock lets one of them build the index while the others wait for it, and the
        # existence check keeps them from "create index if not exists", whose share lock on
        # search.embeddings would wait for every other step's open write.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"search.{name}",))
        exists = conn.execute("select to_regclass(%s) is not null", (f"search.{name}",)).fetchone()
        if exists and exists[0]:
            return name
        conn.execute(
            sql.SQL(
                "create index if not exists {name} on search.embeddings"
                " using hnsw ((embedding::vector({dimensions})) vector_cosine_ops)"
                " with (m = {m}, ef_construction = {ef_construction})"
                " where model = {model}"
            ).format(
                name=sql.Identifier(name),
                dimensions=sql.Literal(_positive(dimensions)),
                m=sql.Literal(HNSW_M),
                ef_construction=sql.Literal(HNSW_EF_CONSTRUCTION),
                model=sql.Literal(model),
            )
        )
    return name


def nearest(
    conn: psycopg.Connection,
    *,
    query_vector: np.ndarray | Sequence[float],
    model: str,
    dimensions: int,
    k: int = 10,
    source_table: str | None = None,
    embedding_type: str | None = None,
    ef_search: int = 100,
) -> list[Hit]:
    """The ``k`` stored embeddings of ``model`` nearest to ``query_vector`` by cosine distance.

    Uses the model's HNSW index (see ``ensure_hnsw_index``; without it, an exact scan) with
    ``hnsw.iterative_scan = relaxed_order``, so filters that reject most candidates still yield
    ``k`` rows (pgvector 0.8 or later); the relaxed order is sorted again before returning (by
    ``distance + 0``: PostgreSQL 17+ carries the CTE's claimed sort order out to the outer query
    and would drop a plain ``order by distance``, as pgvector's README warns). The
    settings are ``SET LOCAL``: inside a caller's transaction they last until that transaction
    ends.

    Args:
        conn: A warehouse connection.
        query_vector: The query, embedded by the same model.
        model: The model whose rows to search.
        dimensions: The model's vector size.
        k: How many hits at most.
        source_table: Only rows of this table.
        embedding_type: Only rows of this type.
        ef_search: HNSW candidate list size; higher finds truer neighbours, slower.

    Returns:
        Hits, most similar first.
    """
    dims = _positive(dimensions)
    vector = np.asarray(query_vector, dtype=np.float32)
    if vector.shape != (dims,):
        raise ValueError(f"query vector has shape {vector.shape}, expected ({dims},)")
    distance = sql.SQL("embedding::{t} <=> %(query)s::{t}").format(t=vector_type(dims))
    filters: list[sql.Composable] = [sql.SQL("model = {}").format(sql.Literal(model))]
    if source_table is not None:
        filters.append(sql.SQL("source_table = %(source_table)s"))
    if embedding_type is not None:
        filters.append(sql.SQL("embedding_type = %(embedding_type)s"))
    query = sql.SQL(
        """
        with candidates as materialized (
            select source_table, source_id, embedding_type, content, {distance} as distance
            from search.embeddings
            where {filters}
            order by {distance}
            limit %(k)s
        )
        select source_table, source_id, embedding_type, content, 1 - distance
        from candidates
        order by distance + 0
        """
    ).format(distance=distance, filters=sql.SQL(" and ").join(filters))
    params = {
        "query": vector,
        "k": k,
        "source_table": source_table,
        "embedding_type": embedding_type,
    }
    with conn.transaction():
        _register_vector(conn)
        set_knn_search(conn, ef_search=ef_search)
        rows = conn.execute(query, params).fetchall()
    return [Hit(*row) for row in rows]


def set_knn_search(conn: psycopg.Connection, *, ef_search: int) -> None:
    """``SET LOCAL`` the HNSW search settings of k-NN queries for the current transaction.

    ``hnsw.iterative_scan = relaxed_order`` keeps scanning the index until filtered queries have
    their ``k`` rows (pgvector 0.8 or later), in nearly sorted order.
    """
    conn.execute(
        "select set_config('hnsw.ef_search', %s, true),"
        " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
        (str(ef_search),),
    )


def vector_type(dimensions: int) -> sql.Composed:
    """``vector(<dimensions>)``, the cast a model's HNSW index and its queries share."""
    return sql.SQL("vector({})").format(sql.Literal(_positive(dimensions)))


def _positive(dimensions: int) -> int:
    """Dimensions go into SQL text as a type modifier, so they must be a positive integer."""
    value = operator.index(dimensions)
    if value < 1:
        raise ValueError(f"dimensions must be positive, got {value}")
    return value
