{% macro ingested_since_last_build(column='ingested_at') -%}
    {{ column }} > (
        select coalesce(max({{ column }}), '-infinity'::timestamptz)
            - interval '{{ var("incremental_lookback_minutes") }} minutes'
        from {{ this }}
    )
{%- endmacro %}
