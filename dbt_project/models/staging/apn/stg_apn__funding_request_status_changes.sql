with

source as (

    select * from {{ source('apn', 'funding_request_history') }}

),

renamed as (

    select

        ---------- ids
        id as status_change_id,
        funding_request_id,
        changed_by_user_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        from_status,
        to_status,
        nullif(trim(comment), '') as comment,

        ---------- booleans
        coalesce(changed_by_aws, false) as is_changed_by_aws,

        ---------- timestamps
        created_date as changed_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
