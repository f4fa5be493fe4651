{% macro translated(column, language='en_US') -%}
    case jsonb_typeof({{ column }})
        when 'object' then coalesce(
            {{ column }} ->> '{{ language }}',
            jsonb_path_query_first({{ column }}, '$.*') #>> '{}'
        )
        when 'string' then {{ column }} #>> '{}'
    end
{%- endmacro %}
