{% macro combined_text(company_name, domain, details) -%}
    nullif(
        concat_ws(
            '. ',
            nullif(concat_ws(' ', {{ company_name }}, '(' || {{ domain }} || ')'), ''),
            {{ details | join(',\n            ') }}
        ),
        ''
    )
{%- endmacro %}
