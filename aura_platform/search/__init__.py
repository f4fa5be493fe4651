"""Search: embeddings in pgvector, semantic queries, opportunity matching."""
