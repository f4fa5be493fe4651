with

source as (

    select * from {{ source('apn', 'funding_request') }}

),

renamed as (

    select

        ---------- ids
        id as funding_request_id,
        funding_request_id as funding_request_ref,
        opportunity_id,
        requested_by_user_id,
        nullif(trim(aws_account_id), '') as aws_account_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        program,
        funding_type,
        activity_name,
        upper(currency) as currency,
        status,

        ---------- numerics
        requested_amount,
        approved_amount,

        ---------- dates
        project_start_date,
        project_end_date,

        ---------- timestamps
        submitted_date as submitted_at,
        created_date as created_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
