with

source as (

    select * from {{ source('odoo', 'c_aws_funding_request') }}

),

renamed as (

    select

        ---------- ids
        id as funding_request_id,
        lead_id,
        partner_id,
        aws_account_id as aws_account_id_ref,
        user_id as requester_user_id,
        nullif(trim(apn_funding_request_ref), '') as apn_funding_request_ref,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as funding_request_name,
        program,
        funding_type,
        activity_name,
        upper(currency_code) as currency_code,
        state,
        nullif(trim(description), '') as description,

        ---------- numerics
        requested_amount,
        approved_amount,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- dates
        date_submitted,
        date_approved,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
