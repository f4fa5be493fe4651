"""Data quality without Dagster: SQL checks, GX expectations, check records."""
