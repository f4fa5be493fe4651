with

source as (

    select * from {{ source('odoo', 'c_billing_internal_cur') }}

),

renamed as (

    select

        ---------- ids
        id as cur_line_id,
        aws_account_id as aws_account_id_ref,
        payer_account_id as payer_account_id_ref,
        spp_bill_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        product_code,
        usage_type,
        upper(currency_code) as currency_code,

        ---------- numerics
        usage_quantity,
        unblended_cost,
        blended_cost,

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
