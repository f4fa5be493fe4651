-- Schema drift is recorded, never silent: added columns, widened types, type conflicts, removals.
create table if not exists ops.schema_changes (
    id             bigserial primary key,
    source_system  text not null,
    source_table   text not null,
    column_name    text not null,
    change         text not null check (change in ('added', 'widened', 'type_conflict', 'removed')),
    old_type       text,
    new_type       text,
    sync_batch_id  uuid,
    detected_at    timestamptz not null default now()
);
create index if not exists schema_changes_table_idx
    on ops.schema_changes (source_system, source_table, detected_at desc);

-- Whether a text value converts to a type. pg_input_is_valid() does this from PostgreSQL 16 on;
-- this works on the 14+ that an external warehouse may run.
create or replace function ops.can_cast(value text, target regtype) returns boolean
language plpgsql immutable as $$
begin
    if value is null then
        return true;
    end if;
    execute format('select %L::%s', value, target::text);
    return true;
exception when others then
    return false;
end;
$$;
