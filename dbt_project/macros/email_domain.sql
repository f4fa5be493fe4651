{% macro email_domain(column) -%}
    {%- set domain = normalize_domain("substring(" ~ column ~ " from '@([^@>[:space:]]+)')") -%}
    case
        when {{ domain }} in (
            {%- for free_domain in var('free_email_domains') -%}
                '{{ free_domain }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        ) then null
        else {{ domain }}
    end
{%- endmacro %}
