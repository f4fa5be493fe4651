{% macro vendor_key(column) -%}
    md5({{ normalize_company_name(column) }})
{%- endmacro %}
