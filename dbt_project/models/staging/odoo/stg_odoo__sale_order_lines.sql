with

source as (

    select * from {{ source('odoo', 'sale_order_line') }}

),

renamed as (

    select

        ---------- ids
        id as order_line_id,
        order_id,
        order_partner_id,
        product_id,
        salesman_id as salesperson_user_id,
        company_id,
        currency_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as line_description,
        display_type,
        state,
        invoice_status,

        ---------- numerics
        sequence,
        product_uom_qty as quantity,
        price_unit,
        discount as discount_percent,
        price_subtotal,
        price_tax,
        price_total,
        qty_delivered as quantity_delivered,
        qty_invoiced as quantity_invoiced,
        qty_to_invoice as quantity_to_invoice,

        ---------- booleans
        coalesce(is_downpayment, false) as is_downpayment,
        coalesce(is_expense, false) as is_expense,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
