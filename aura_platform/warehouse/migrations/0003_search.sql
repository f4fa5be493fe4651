-- Vector store. The embedding column has no fixed dimension so that models of different sizes can
-- share the table; each model gets its own HNSW index over a cast expression (created by the
-- embedding asset once it knows the model's dimension), which is how pgvector indexes mixed sizes.
create table if not exists search.embeddings (
    id              bigserial primary key,
    source_table    text not null,
    source_id       text not null,
    embedding_type  text not null check (embedding_type in ('identity', 'context')),
    model           text not null,
    dimensions      integer not null,
    content         text not null,
    content_hash    text not null,
    embedding       vector not null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    unique (source_table, source_id, embedding_type, model)
);

create table if not exists search.similarity_cache (
    id              bigserial primary key,
    source_table    text not null,
    source_id       text not null,
    target_table    text not null,
    target_id       text not null,
    embedding_type  text not null,
    model           text not null,
    similarity      double precision not null,
    score           double precision not null,
    components      jsonb not null default '{}'::jsonb,
    rank            integer not null,
    computed_at     timestamptz not null default now(),
    unique (source_table, source_id, target_table, target_id, embedding_type, model)
);
