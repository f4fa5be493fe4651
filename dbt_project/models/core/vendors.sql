{{
    config(
        post_hook=[
            after_commit("{{ create_index(['vendor_key'], unique=true) }}"),
            after_commit("{{ create_index(['normalized_vendor_name']) }}"),
        ]
    )
}}

with

invoices as (

    select * from {{ ref('invoices') }}

),

latest_details as (

    -- Name, email and address as the vendor's most recent invoice spells them.
    select distinct on (vendor_key)
        vendor_key,
        vendor_name,
        vendor_email,
        vendor_address

    from invoices
    order by vendor_key, invoice_date desc nulls last, updated_at desc nulls last, invoice_id

),

totals as (

    select
        vendor_key,
        array_agg(distinct vendor_tax_id order by vendor_tax_id)
            filter (where vendor_tax_id is not null) as tax_ids,
        array_agg(distinct currency order by currency) filter (where currency is not null)
            as currencies,
        count(*) as invoice_count,
        min(invoice_date) as first_invoice_date,
        max(invoice_date) as last_invoice_date

    from invoices
    group by vendor_key

),

final as (

    select
        totals.vendor_key,
        latest_details.vendor_name,
        {{ normalize_company_name('latest_details.vendor_name') }} as normalized_vendor_name,
        latest_details.vendor_email,
        {{ email_domain('latest_details.vendor_email') }} as normalized_domain,
        latest_details.vendor_address,
        totals.tax_ids,
        totals.currencies,
        totals.invoice_count,
        totals.first_invoice_date,
        totals.last_invoice_date

    from totals
    inner join latest_details
        on totals.vendor_key = latest_details.vendor_key

)

select * from final
