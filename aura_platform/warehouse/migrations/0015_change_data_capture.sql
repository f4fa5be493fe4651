-- Change data capture from PostgreSQL sources (mode: cdc). Each CDC table owns a logical
-- replication slot and a publication on its source; the position up to which raw holds every
-- change is confirmed_lsn, written in the same transaction as the rows it covers and
-- acknowledged to the source (pg_replication_slot_advance) only after that commit.
create table if not exists ops.cdc_slots (
    source_system text not null,
    source_table text not null,
    connection_env text not null,  -- how to reach the source again to drop the slot later
    slot_name text not null,
    publication_name text not null,
    confirmed_lsn pg_lsn not null,
    created_at timestamptz not null default now(),
    confirmed_at timestamptz not null default now(),
    primary key (source_system, source_table)
);
-- The source positions a CDC sync read from and up to (null for cursor-mode syncs).
alter table ops.sync_jobs
    add column if not exists lsn_before pg_lsn,
    add column if not exists lsn_after pg_lsn;
alter table ops.sync_jobs drop constraint if exists sync_jobs_sync_mode_check;
alter table ops.sync_jobs add constraint sync_jobs_sync_mode_check
    check (sync_mode in ('incremental', 'full_refresh', 'backfill', 'cdc_snapshot', 'cdc'));
