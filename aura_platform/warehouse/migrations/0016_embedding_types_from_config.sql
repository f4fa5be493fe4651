-- Text types are configuration (text_types in assets_config/embeddings.yaml), not a fixed pair:
-- the column keeps only the identifier shape the configuration enforces.
alter table search.embeddings drop constraint if exists embeddings_embedding_type_check;
alter table search.embeddings add constraint embeddings_embedding_type_check
    check (embedding_type ~ '^[a-z_][a-z0-9_]*$');
