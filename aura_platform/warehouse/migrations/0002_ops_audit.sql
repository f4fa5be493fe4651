-- Audit trail: one row per table sync, per check execution, per dbt model build, per bad record.
create table if not exists ops.sync_jobs (
    id                   bigserial primary key,
    sync_batch_id        uuid not null,
    source_system        text not null,
    source_table         text not null,
    target_table         text not null,
    sync_mode            text not null default 'incremental'
                             check (sync_mode in ('incremental', 'full_refresh', 'backfill')),
    status               text not null default 'running'
                             check (status in ('running', 'success', 'failed')),
    started_at           timestamptz not null default now(),
    finished_at          timestamptz,
    records_processed    bigint not null default 0,
    records_inserted     bigint not null default 0,
    records_updated      bigint not null default 0,
    records_deleted      bigint not null default 0,
    records_failed       bigint not null default 0,
    records_quarantined  bigint not null default 0,
    watermark_before     timestamp,
    watermark_after      timestamp,
    error_message        text,
    error_details        jsonb,
    config               jsonb not null default '{}'::jsonb,
    dagster_run_id       text,
    dagster_asset_key    text
);
create index if not exists sync_jobs_table_started_idx
    on ops.sync_jobs (source_system, source_table, started_at desc);

create table if not exists ops.data_quality_checks (
    id                bigserial primary key,
    check_name        text not null,
    check_type        text not null,
    severity          text not null default 'ERROR' check (severity in ('ERROR', 'WARN')),
    schema_name       text not null,
    table_name        text not null,
    passed            boolean not null,
    records_checked   bigint,
    records_passed    bigint,
    records_failed    bigint,
    failure_details   jsonb not null default '{}'::jsonb,
    sync_job_id       bigint references ops.sync_jobs (id) on delete set null,
    dagster_run_id    text,
    checked_at        timestamptz not null default now()
);
create index if not exists data_quality_checks_table_idx
    on ops.data_quality_checks (schema_name, table_name, checked_at desc);

create table if not exists ops.transformation_log (
    id                 bigserial primary key,
    model_name         text not null,
    source_tables      text[] not null default '{}',
    target_table       text not null,
    rows_affected      bigint,
    status             text not null,
    dbt_invocation_id  text,
    dagster_run_id     text,
    started_at         timestamptz,
    finished_at        timestamptz,
    message            text
);

create table if not exists ops.quarantine (
    id                bigserial primary key,
    source_system     text not null,
    source_table      text not null,
    source_file       text,
    line_number       bigint,
    reason            text not null,
    original_payload  jsonb not null,
    sync_batch_id     uuid,
    quarantined_at    timestamptz not null default now(),
    resolved_at       timestamptz
);
create index if not exists quarantine_table_idx on ops.quarantine (source_system, source_table);
