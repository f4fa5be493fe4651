with

source as (

    select * from {{ source('csv', 'trial_balance') }}

),

renamed as (

    select

        ---------- ids
        entity,
        period,
        account_code,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        account_name,
        upper(currency) as currency,
        file_name as source_file,
        file_checksum as source_file_checksum,

        ---------- numerics
        line_number as source_line_number,
        coalesce(debit, 0) as debit,
        coalesce(credit, 0) as credit,
        coalesce(balance, coalesce(debit, 0) - coalesce(credit, 0)) as balance,

        ---------- timestamps
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
