{% macro normalize_company_name(column) -%}
    nullif(
        regexp_replace(
            trim(
                regexp_replace(
                    regexp_replace(lower({{ column }}), '[''’.]', '', 'g'),
                    '[^[:alnum:]]+', ' ', 'g'
                )
            ),
            '( ({{ var("company_legal_suffixes") | join("|") }}))+$', ''
        ),
        ''
    )
{%- endmacro %}
