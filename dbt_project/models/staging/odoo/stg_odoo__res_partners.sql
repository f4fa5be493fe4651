with

source as (

    select * from {{ source('odoo', 'res_partner') }}

),

renamed as (

    select

        ---------- ids
        id as partner_id,
        parent_id,
        commercial_partner_id,
        user_id,
        team_id,
        company_id,
        country_id,
        state_id,
        industry_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as partner_name,
        nullif(trim(commercial_company_name), '') as commercial_company_name,
        nullif(trim(company_name), '') as company_name,
        nullif(trim(email), '') as email,
        nullif(trim(phone), '') as phone,
        nullif(trim(website), '') as website,
        nullif(trim(vat), '') as vat,
        nullif(trim(city), '') as city,
        type as partner_type,

        ---------- booleans
        coalesce(is_company, false) as is_company,
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
