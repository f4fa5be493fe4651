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
        country_id,
        state_id,
        lost_reason_id,
        x_aws_account_id as aws_account_id_ref,
        x_payer_account_id as payer_account_id_ref,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as lead_name,
        type as lead_type,
        priority,
        partner_name,
        contact_name,
        nullif(trim(email_from), '') as email,
        nullif(trim(phone), '') as phone,
        nullif(trim(website), '') as website,
        nullif(trim(city), '') as city,
        {{ html_to_text('description') }} as description,
        x_pod_type as pod_type,
        x_pod_stage as pod_stage,

        ---------- numerics
        probability,
        expected_revenue,
        recurring_revenue_monthly,
        x_pod_discount_pct as pod_discount_pct,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- dates
        date_deadline,
        x_pod_start_date as pod_start_date,
        x_pod_end_date as pod_end_date,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(date_open as timestamp) at time zone 'utc' as date_open,
        cast(date_closed as timestamp) at time zone 'utc' as date_closed,
        cast(date_last_stage_update as timestamp) at time zone 'utc' as date_last_stage_update,
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
