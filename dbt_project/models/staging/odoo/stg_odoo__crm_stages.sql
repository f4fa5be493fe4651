with

source as (

    select * from {{ source('odoo', 'crm_stage') }}

),

renamed as (

    select

        ---------- ids
        id as stage_id,
        team_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        {{ translated('name') }} as stage_name,
        nullif(trim(requirements), '') as requirements,

        ---------- numerics
        sequence,

        ---------- booleans
        coalesce(is_won, false) as is_won,
        coalesce(fold, false) as is_folded,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
