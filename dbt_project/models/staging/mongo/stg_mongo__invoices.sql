with

source as (

    select * from {{ source('mongo', 'invoices') }}

),

renamed as (

    select

        ---------- ids
        id as invoice_id,
        nullif(trim(invoice_number), '') as invoice_number,
        nullif(trim(vendor_tax_id), '') as vendor_tax_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        nullif(trim(vendor_name), '') as vendor_name,
        nullif(trim(document -> 'vendor' ->> 'email'), '') as vendor_email,
        nullif(trim(document -> 'vendor' ->> 'address'), '') as vendor_address,
        upper(currency) as currency,
        status,

        ---------- jsonb
        -- [{description, quantity, unit_price, amount, tax_rate}, ...]
        coalesce(document -> 'items', '[]'::jsonb) as items,

        ---------- numerics
        subtotal,
        tax,
        total,
        coalesce(item_count, jsonb_array_length(document -> 'items')) as item_count,

        ---------- dates
        invoice_date,
        due_date,

        ---------- timestamps
        -- Mongo dates arrive as naive UTC.
        cast(created_at as timestamp) at time zone 'utc' as created_at,
        cast(updated_at as timestamp) at time zone 'utc' as updated_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
