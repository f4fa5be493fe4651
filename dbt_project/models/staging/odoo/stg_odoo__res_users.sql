with

source as (

    select * from {{ source('odoo', 'res_users') }}

),

renamed as (

    select

        ---------- ids
        id as user_id,
        partner_id,
        company_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        -- The password hash and signature stay in raw: nothing downstream needs them.
        login,

        ---------- booleans
        coalesce(active, false) as is_active,
        coalesce(share, false) as is_portal_user,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
