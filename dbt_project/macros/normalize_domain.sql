{#- A host has a dot between letters or digits: "N/A", "none", "-", "null", "tbd" or "localhost"
    typed into a website field are placeholders, not hosts, and become null rather than a fake
    domain that would fail the core suite and hold back the search layer. -#}
{% macro normalize_domain(column) -%}
    (
        select case when host ~ '[a-z0-9]\.[a-z0-9]' then host end
        from (
            select
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                lower(trim({{ column }})), '^([a-z][a-z0-9+.-]*:)?//', ''
                            ),
                            '^www[0-9]*\.', ''
                        ),
                        '[/?#:].*$', ''
                    ),
                    '\.+$', ''
                ) as host
        ) as website
    )
{%- endmacro %}
