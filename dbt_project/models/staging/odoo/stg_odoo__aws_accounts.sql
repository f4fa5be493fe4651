with

source as (

    select * from {{ source('odoo', 'c_aws_accounts') }}

),

renamed as (

    select

        ---------- ids
        id as aws_account_id_ref,
        -- The 12-digit AWS account number is text: its leading zeros matter.
        nullif(trim(account_id), '') as aws_account_id,
        payer_account_id as payer_account_id_ref,
        partner_id,
        user_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as account_name,
        nullif(trim(company_name), '') as company_name,
        account_type,
        status,
        nullif(trim(root_email), '') as root_email,
        nullif(trim(domain), '') as domain,

        ---------- booleans
        coalesce(active, false) as is_active,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
