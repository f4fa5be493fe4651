with

source as (

    select * from {{ source('odoo', 'crm_team') }}

),

renamed as (

    select

        ---------- ids
        id as team_id,
        user_id as leader_user_id,
        company_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        {{ translated('name') }} as team_name,

        ---------- numerics
        sequence,

        ---------- booleans
        coalesce(active, false) as is_active,
        coalesce(use_leads, false) as uses_leads,
        coalesce(use_opportunities, false) as uses_opportunities,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
