with

source as (

    select * from {{ source('apn', 'users') }}

),

renamed as (

    select

        ---------- ids
        id as user_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        nullif(trim(email), '') as email,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(concat_ws(' ', nullif(trim(first_name), ''), nullif(trim(last_name), '')), '')
            as full_name,
        nullif(trim(title), '') as title,
        role,

        ---------- booleans
        coalesce(is_active, false) as is_active,

        ---------- timestamps
        created_date as created_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
