"""Semantic search over ``search.embeddings``: embed the query, ask the HNSW index."""

from __future__ import annotations

from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse
from aura_platform.warehouse.connection import connect


def search(
    settings: Settings,
    text: str,
    *,
    k: int = 10,
    source_table: str | None = None,
    embedding_type: str | None = None,
) -> list:  # list[vector_store.Hit]; the module is imported lazily
    """The ``k`` rows whose embeddings are nearest to ``text``, best first."""
    from aura_platform.search.embedding import load_embedder
    from aura_platform.search.vector_store import nearest

    url = prepare_warehouse(settings)
    embedder = load_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    vector = embedder.encode([text])[0]
    with connect(url) as conn:
        return nearest(
            conn,
            query_vector=vector,
            model=embedder.model_name,
            dimensions=embedder.dimensions,
            k=k,
            source_table=source_table,
            embedding_type=embedding_type,
            ef_search=settings.hnsw_ef_search,
        )
