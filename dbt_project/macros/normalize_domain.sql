{% macro normalize_domain(column) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(trim({{ column }})), '^([a-z][a-z0-9+.-]*:)?//', ''),
                    '^www[0-9]*\.', ''
                ),
                '[/?#:].*$', ''
            ),
            '\.+$', ''
        ),
        ''
    )
{%- endmacro %}
