with

source as (

    select * from {{ source('odoo', 'res_country_state') }}

),

renamed as (

    select

        ---------- ids
        id as state_id,
        country_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as state_name,
        code as state_code,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
