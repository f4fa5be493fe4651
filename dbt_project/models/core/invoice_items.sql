{{
    config(
        materialized='incremental',
        unique_key='invoice_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ delete_vanished_rows(
                ['invoice_id'],
                ref('stg_mongo__invoices'),
                still_matching='target.position <= jsonb_array_length(upstream.items)'
            ) }}",
            after_commit("{{ create_index(['invoice_id']) }}"),
        ]
    )
}}

-- A re-ingested invoice replaces all its items (delete+insert on invoice_id); items of deleted
-- invoices, and positions an invoice no longer has, are removed by the post-hook.

with

invoices as (

    select * from {{ ref('stg_mongo__invoices') }}
    {% if is_incremental() -%}
    where {{ ingested_since_last_build() }}
    {%- endif %}

),

items as (

    select
        invoices.invoice_id,
        invoices.currency,
        invoices.ingested_at,
        item.position,
        item.value as item

    from invoices
    cross join lateral
        jsonb_array_elements(invoices.items) with ordinality as item (value, position)

),

final as (

    select
        invoice_id || ':' || position as invoice_item_id,
        invoice_id,
        cast(position as integer) as position,
        nullif(trim(item ->> 'description'), '') as description,
        cast(item ->> 'quantity' as numeric) as quantity,
        cast(item ->> 'unit_price' as numeric) as unit_price,
        cast(item ->> 'amount' as numeric) as amount,
        cast(item ->> 'tax_rate' as numeric) as tax_rate,
        currency,
        ingested_at

    from items

)

select * from final
