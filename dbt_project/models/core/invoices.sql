{{
    config(
        post_hook=[
            after_commit("{{ create_index(['invoice_id'], unique=true) }}"),
            after_commit("{{ create_index(['vendor_key']) }}"),
        ]
    )
}}

with

invoices as (

    select * from {{ ref('stg_mongo__invoices') }}

),

final as (

    select
        invoice_id,
        invoice_number,
        {{ vendor_key('vendor_name') }} as vendor_key,
        vendor_name,
        vendor_tax_id,
        vendor_email,
        vendor_address,
        invoice_date,
        due_date,
        currency,
        subtotal,
        tax,
        total,
        status,
        item_count,
        created_at,
        updated_at

    from invoices

)

select * from final
