with

source as (

    select * from {{ source('apn', 'opportunity') }}

),

renamed as (

    select

        ---------- ids
        id as opportunity_id,
        apn_crm_unique_identifier as ace_opportunity_id,
        nullif(trim(partner_crm_unique_identifier), '') as partner_crm_unique_identifier,
        owner_user_id,
        -- The 12-digit AWS account number is text: its leading zeros matter.
        nullif(trim(aws_account_id), '') as aws_account_id,
        nullif(trim(customer_duns), '') as customer_duns,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        nullif(trim(customer_company_name), '') as customer_company_name,
        nullif(trim(customer_website), '') as customer_website,
        industry,
        nullif(trim(industry_other), '') as industry_other,
        nullif(trim(street_address), '') as street_address,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(postal_code), '') as postal_code,
        nullif(trim(customer_country), '') as country,
        nullif(trim(customer_first_name), '') as customer_first_name,
        nullif(trim(customer_last_name), '') as customer_last_name,
        nullif(trim(customer_title), '') as customer_title,
        nullif(trim(customer_email), '') as customer_email,
        nullif(trim(customer_phone), '') as customer_phone,
        opportunity_ownership,
        nullif(trim(opportunity_owner_name), '') as opportunity_owner_name,
        nullif(trim(opportunity_owner_email), '') as opportunity_owner_email,
        nullif(trim(partner_project_title), '') as project_title,
        nullif(trim(project_description), '') as project_description,
        use_case,
        opportunity_type,
        competitive_tracking,
        nullif(trim(campaign_name), '') as campaign_name,
        stage,
        status,
        aws_stage,
        nullif(trim(closed_lost_reason), '') as closed_lost_reason,
        engagement_score,
        nullif(trim(next_step), '') as next_step,
        nullif(trim(aws_sales_rep_name), '') as aws_sales_rep_name,
        nullif(trim(aws_sales_rep_email), '') as aws_sales_rep_email,
        created_by,
        last_modified_by,

        ---------- jsonb
        aws_products,
        -- ACE multi-selects arrive ';'-separated; as JSON arrays they read like the export files'.
        to_jsonb(string_to_array(nullif(delivery_model, ''), ';')) as delivery_models,
        to_jsonb(string_to_array(nullif(partner_primary_need_from_aws, ''), ';'))
            as partner_needs_from_aws,
        to_jsonb(string_to_array(nullif(sales_activities, ''), ';')) as sales_activities,

        ---------- numerics
        expected_monthly_aws_revenue,

        ---------- booleans
        is_marketing_development_funded = 'Yes' as is_marketing_development_funded,
        does_opp_belong_to_nat_sec = 'Yes' as is_national_security,

        ---------- dates
        target_close_date,

        ---------- timestamps
        created_date as created_at,
        last_modified_date as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
