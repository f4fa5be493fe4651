{{
    config(
        materialized='incremental',
        unique_key=['entity', 'period', 'account_code'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ delete_vanished_rows(
                ['entity', 'period', 'account_code'], ref('stg_csv__trial_balance_lines')
            ) }}",
            after_commit("{{ create_index(['entity', 'period']) }}"),
            after_commit("{{ create_index(['account_code']) }}"),
        ]
    )
}}

with

lines as (

    select * from {{ ref('stg_csv__trial_balance_lines') }}
    {% if is_incremental() -%}
    where {{ ingested_since_last_build() }}
    {%- endif %}

),

final as (

    select
        concat_ws(':', entity, to_char(period, 'YYYY-MM'), account_code) as gl_balance_key,
        entity,
        period,
        account_code,
        account_name,
        currency,
        debit,
        credit,
        balance,
        source_file,
        source_line_number,
        ingested_at

    from lines

)

select * from final
