with

source as (

    select * from {{ source('mongo', 'supporting_docs') }}

),

renamed as (

    select

        ---------- ids
        id as supporting_doc_id,
        related_entity_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        related_entity_type,
        document_type,
        file_name,
        content_type,
        uploaded_by,
        document ->> 'checksum' as checksum,

        ---------- jsonb
        coalesce(document -> 'tags', '[]'::jsonb) as tags,

        ---------- numerics
        size_bytes,

        ---------- timestamps
        -- Mongo dates arrive as naive UTC.
        cast(uploaded_at as timestamp) at time zone 'utc' as uploaded_at,
        cast(updated_at as timestamp) at time zone 'utc' as updated_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
