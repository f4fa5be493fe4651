with

source as (

    select * from {{ source('apn', 'end_user') }}

),

renamed as (

    select

        ---------- ids
        id as end_user_id,
        opportunity_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        nullif(trim(company_name), '') as company_name,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(title), '') as title,
        nullif(trim(email), '') as email,
        nullif(trim(phone), '') as phone,

        ---------- booleans
        coalesce(is_primary, false) as is_primary,

        ---------- timestamps
        created_date as created_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
