{{
    config(
        post_hook=[
            after_commit("{{ create_index(['account_code'], unique=true) }}"),
        ]
    )
}}

with

lines as (

    select * from {{ ref('stg_csv__trial_balance_lines') }}

),

latest_names as (

    -- An account keeps the name of its most recent trial balance.
    select distinct on (account_code)
        account_code,
        account_name

    from lines
    order by account_code, period desc, ingested_at desc

),

accounts as (

    select
        account_code,
        array_agg(distinct entity order by entity) as entities,
        min(period) as first_period,
        max(period) as last_period

    from lines
    group by account_code

),

final as (

    select
        accounts.account_code,
        latest_names.account_name,
        case left(accounts.account_code, 1)
            {%- for digit, account_type in var('gl_account_types').items() %}
            when '{{ digit }}' then '{{ account_type }}'
            {%- endfor %}
        end as account_type,
        accounts.entities,
        accounts.first_period,
        accounts.last_period

    from accounts
    inner join latest_names
        on accounts.account_code = latest_names.account_code

)

select
    *,
    case
        when account_type in ('asset', 'expense') then 'debit'
        when account_type is not null then 'credit'
    end as normal_balance

from final
