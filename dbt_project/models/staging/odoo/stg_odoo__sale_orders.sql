with

source as (

    select * from {{ source('odoo', 'sale_order') }}

),

renamed as (

    select

        ---------- ids
        id as order_id,
        partner_id,
        partner_invoice_id,
        partner_shipping_id,
        opportunity_id,
        user_id,
        team_id,
        company_id,
        currency_id,
        pricelist_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as order_name,
        state,
        invoice_status,
        nullif(trim(client_order_ref), '') as client_order_ref,
        nullif(trim(origin), '') as origin,
        {{ html_to_text('note') }} as note,

        ---------- numerics
        amount_untaxed,
        amount_tax,
        amount_total,
        currency_rate,

        ---------- booleans
        coalesce(locked, false) as is_locked,

        ---------- dates
        validity_date,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(date_order as timestamp) at time zone 'utc' as date_order,
        cast(commitment_date as timestamp) at time zone 'utc' as commitment_date,
        cast(signed_on as timestamp) at time zone 'utc' as signed_on,
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
