with

source as (

    select * from {{ source('odoo', 'project_project') }}

),

renamed as (

    select

        ---------- ids
        id as project_id,
        partner_id,
        user_id as manager_user_id,
        company_id,
        stage_id,
        analytic_account_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        {{ translated('name') }} as project_name,
        {{ html_to_text('description') }} as description,
        privacy_visibility,
        last_update_status,

        ---------- numerics
        sequence,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- dates
        date_start,
        date as date_end,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
