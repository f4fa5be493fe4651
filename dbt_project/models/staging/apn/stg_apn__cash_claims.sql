with

source as (

    select * from {{ source('apn', 'cash_claim') }}

),

renamed as (

    select

        ---------- ids
        id as cash_claim_id,
        funding_request_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        claim_number,
        invoice_number,
        upper(currency) as currency,
        status,

        ---------- numerics
        claim_amount,
        approved_amount,

        ---------- dates
        submitted_date,
        paid_date,

        ---------- timestamps
        created_date as created_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
