with

source as (

    select * from {{ source('odoo', 'crm_lead') }}

),

renamed as (

    select

        ---------- ids
        id as lead_id,
        partner_id,
        user_id,
        team_id,
        stage_id,
        company_id,
        x_aws_account_id as aws_account_id_ref,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as lead_name,
        type as lead_type,
        partner_name,
        contact_name,
        nullif(trim(email_from), '') as email,
        nullif(trim(website), '') as website,
        {{ html_to_text('description') }} as description,

        ---------- numerics
        probability,
        expected_revenue,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        date_deadline,
        cast(date_closed as timestamp) at time zone 'utc' as date_closed,
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
