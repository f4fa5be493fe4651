{% macro delete_vanished_rows(key_columns, upstream, still_matching=none) -%}
    {%- set target_key = [] -%}
    {%- set upstream_key = [] -%}
    {%- for column in key_columns -%}
        {%- do target_key.append('target.' ~ column) -%}
        {%- do upstream_key.append('upstream.' ~ column) -%}
    {%- endfor -%}
    delete from {{ this }} as target
    where not exists (
        select 1 from {{ upstream }} as upstream
        where ({{ upstream_key | join(', ') }}) = ({{ target_key | join(', ') }})
        {%- if still_matching %}
            and {{ still_matching }}
        {%- endif %}
    )
{%- endmacro %}
