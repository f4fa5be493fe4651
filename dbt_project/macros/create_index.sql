{% macro create_index(columns, unique=false) -%}
    {%- set name = this.identifier ~ '__' ~ (columns | join('__')) ~ '_idx' -%}
    create {{ 'unique ' if unique }}index if not exists {{ adapter.quote(name) }}
        on {{ this }} ({{ columns | join(', ') }})
{%- endmacro %}
