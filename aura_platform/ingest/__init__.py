"""Ingestion: one table's sync from a source into ``raw``, audited."""
