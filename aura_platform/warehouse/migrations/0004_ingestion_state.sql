-- Per-table sync state. The watermark moves in the same transaction as the rows it covers, so it
-- can only advance once they are committed.
create table if not exists ops.sync_watermarks (
    source_system  text not null,
    source_table   text not null,
    cursor_column  text not null,
    watermark      timestamp,
    sync_batch_id  uuid,
    updated_at     timestamptz not null default now(),
    primary key (source_system, source_table)
);
