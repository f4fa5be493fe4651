with

source as (

    select * from {{ source('odoo', 'product_template') }}

),

renamed as (

    select

        ---------- ids
        id as product_template_id,
        categ_id as category_id,
        uom_id,
        company_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        {{ translated('name') }} as product_name,
        {{ translated('description_sale') }} as sales_description,
        nullif(trim(default_code), '') as internal_reference,
        type as product_type,
        invoice_policy,
        service_tracking,

        ---------- numerics
        list_price,

        ---------- booleans
        coalesce(sale_ok, false) as can_be_sold,
        coalesce(purchase_ok, false) as can_be_purchased,
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
