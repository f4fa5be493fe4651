-- What a successful sync found besides its counts (schema changes, source row count for
-- reconciliation, connector notes); error_details stays for failures.
alter table ops.sync_jobs add column if not exists details jsonb not null default '{}'::jsonb;
