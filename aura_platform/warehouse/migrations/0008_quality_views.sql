-- Data-quality pass rate per table per day (UTC), from every recorded check execution.
-- Columns keep the names of ops.data_quality_checks (table is a reserved word).
create or replace view ops.data_quality_pass_rate as
select
    schema_name,
    table_name,
    (checked_at at time zone 'UTC')::date as day,
    count(*) as checks,
    count(*) filter (where passed) as passed,
    round(count(*) filter (where passed)::numeric / count(*), 4) as pass_rate
from ops.data_quality_checks
group by schema_name, table_name, (checked_at at time zone 'UTC')::date;
