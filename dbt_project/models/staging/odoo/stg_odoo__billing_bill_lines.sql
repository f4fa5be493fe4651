with

source as (

    select * from {{ source('odoo', 'c_billing_bill_line') }}

),

renamed as (

    select

        ---------- ids
        id as bill_line_id,
        bill_id,
        aws_account_id as aws_account_id_ref,
        internal_cur_id as cur_line_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        product_code,
        description,
        upper(currency_code) as currency_code,

        ---------- numerics
        quantity,
        cost_amount,
        markup_percent,
        price_subtotal,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
