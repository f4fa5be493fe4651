{#- on-run-end: one ops.transformation_log row per model node of the invocation. -#}
{% macro log_transformations(results) -%}
    {%- set rows = [] -%}
    {%- for result in results if result.node.resource_type in ('model', 'seed', 'snapshot') -%}
        {%- set node = result.node -%}
        {%- set upstream = [] -%}
        {%- for unique_id in node.depends_on.nodes -%}
            {%- set parent = graph.sources.get(unique_id) or graph.nodes.get(unique_id) -%}
            {%- if parent -%}
                {%- do upstream.append(
                    sql_literal(parent.schema ~ '.' ~ (parent.identifier or parent.alias))
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set rows_affected = (result.adapter_response or {}).get('rows_affected') -%}
        {%- set started = result.timing | map(attribute='started_at') | reject('none') | list -%}
        {%- set finished = result.timing | map(attribute='completed_at') | reject('none') | list -%}
        {%- do rows.append(
            '(' ~ [
                sql_literal(node.name),
                'array[' ~ (upstream | join(', ')) ~ ']::text[]',
                sql_literal(node.schema ~ '.' ~ node.alias),
                rows_affected if rows_affected is number and rows_affected >= 0 else 'null',
                sql_literal(result.status),
                sql_literal(invocation_id),
                sql_literal(env_var('DAGSTER_RUN_ID', '') or none),
                utc_timestamp_literal(started | min if started else none),
                utc_timestamp_literal(finished | max if finished else none),
                sql_literal(result.message),
            ] | join(', ') ~ ')'
        ) -%}
    {%- endfor -%}
    {%- if rows -%}
        insert into ops.transformation_log (
            model_name, source_tables, target_table, rows_affected, status, dbt_invocation_id,
            dagster_run_id, started_at, finished_at, message
        )
        values
        {{ rows | join(',\n') }}
    {%- endif -%}
{%- endmacro %}

{#- dbt's timing is naive UTC. -#}
{% macro utc_timestamp_literal(moment) -%}
    {%- if moment is none -%}
        null
    {%- else -%}
        '{{ moment.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz
    {%- endif -%}
{%- endmacro %}
