{% macro normalize_company_name(column) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                trim(
                    regexp_replace(
                        regexp_replace(lower({{ column }}), '[''’.]', '', 'g'),
                        '[^[:alnum:]]+', ' ', 'g'
                    )
                ),
                '^the (?=.)', ''
            ),
            '( ({{ var("company_legal_suffixes") | join("|") }}))+$', ''
        ),
        ''
    )
{%- endmacro %}
