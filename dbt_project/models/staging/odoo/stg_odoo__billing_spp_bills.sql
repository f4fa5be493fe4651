with

source as (

    select * from {{ source('odoo', 'c_billing_spp_bill') }}

),

renamed as (

    select

        ---------- ids
        id as spp_bill_id,
        aws_account_id as payer_account_id_ref,
        partner_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as bill_name,
        invoice_number,
        upper(currency_code) as currency_code,
        state,

        ---------- numerics
        amount_untaxed,
        discount_amount,
        amount_tax,
        amount_total,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- dates
        billing_period,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
