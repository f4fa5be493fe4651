{#- on-run-end: the row count of each core model this invocation built, for the row-count test. -#}
{% macro record_core_row_counts(results) -%}
    {%- set counts = [] -%}
    {%- for result in results
        if result.node.resource_type == 'model'
        and result.node.schema == 'core'
        and result.status == 'success' -%}
        {%- do counts.append(
            "select " ~ sql_literal(result.node.name) ~ " as model, count(*) as rows from "
            ~ adapter.quote(result.node.schema) ~ "." ~ adapter.quote(result.node.alias)
        ) -%}
    {%- endfor -%}
    create table if not exists ops.model_row_counts (
        model text not null,
        rows bigint not null,
        invocation_id text not null,
        recorded_at timestamptz not null default now()
    );
    create index if not exists model_row_counts_model_recorded_idx
        on ops.model_row_counts (model, recorded_at desc);
    {%- if counts %}
    insert into ops.model_row_counts (model, rows, invocation_id)
    select model, rows, {{ sql_literal(invocation_id) }} from (
        {{ counts | join('\n        union all\n        ') }}
    ) as counted;
    {%- endif %}
{%- endmacro %}
