{% macro html_to_text(column) -%}
    nullif(
        trim(
            regexp_replace(
                replace(
                    replace(
                        replace(
                            replace(
                                replace(
                                    replace(
                                        regexp_replace({{ column }}, '<[^>]*>', ' ', 'g'),
                                        '&nbsp;', ' '
                                    ),
                                    '&lt;', '<'
                                ),
                                '&gt;', '>'
                            ),
                            '&quot;', '"'
                        ),
                        '&#39;', ''''
                    ),
                    '&amp;', '&'
                ),
                '\s+', ' ', 'g'
            )
        ),
        ''
    )
{%- endmacro %}
