-- Files taken from the landing zone. The checksum (SHA-256 of the bytes) is unique, so a file is
-- loaded once whatever it is called; the row is written in the same transaction as the file's
-- rows, and the archive and Parquet paths are filled in once the file has been moved after commit.
create table if not exists ops.landed_files (
    id                bigserial primary key,
    file_name         text not null,
    checksum          text not null unique,
    size_bytes        bigint not null,
    rows_read         bigint not null,
    rows_loaded       bigint not null,
    rows_quarantined  bigint not null,
    status            text not null check (status in ('loaded', 'partial', 'rejected', 'empty')),
    loaded_at         timestamptz not null default now(),
    archived_path     text,
    parquet_path      text,
    sync_batch_id     uuid not null,
    check (rows_read = rows_loaded + rows_quarantined)
);
create index if not exists landed_files_loaded_at_idx on ops.landed_files (loaded_at desc);
