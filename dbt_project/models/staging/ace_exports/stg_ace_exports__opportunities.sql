with

source as (

    select * from {{ source('ace_exports', 'opportunity') }}

),

renamed as (

    select

        ---------- ids
        apn_crm_unique_identifier as ace_opportunity_id,
        nullif(trim(partner_crm_unique_identifier), '') as partner_crm_unique_identifier,
        nullif(trim(parent_opp_id), '') as parent_ace_opportunity_id,
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
        nullif(trim(country), '') as country,
        nullif(trim(customer_first_name), '') as customer_first_name,
        nullif(trim(customer_last_name), '') as customer_last_name,
        nullif(trim(customer_email), '') as customer_email,
        opportunity_ownership,
        nullif(trim(opportunity_owner_name), '') as opportunity_owner_name,
        nullif(trim(opportunity_owner_email), '') as opportunity_owner_email,
        nullif(trim(partner_project_title), '') as project_title,
        nullif(trim(project_description), '') as project_description,
        use_case,
        opportunity_type,
        stage,
        status,
        aws_stage,
        partner_acceptance_status,
        nullif(trim(closed_lost_reason), '') as closed_lost_reason,
        nullif(trim(next_step), '') as next_step,
        nullif(trim(aws_sales_rep_name), '') as aws_sales_rep_name,
        nullif(trim(aws_sales_rep_email), '') as aws_sales_rep_email,
        version as export_version,

        ---------- jsonb
        aws_products,
        delivery_model as delivery_models,
        solution_offered as solutions_offered,

        ---------- numerics
        expected_monthly_aws_revenue,
        customer_software_value,
        customer_software_value_currency,

        ---------- booleans
        is_marketing_development_funded = 'Yes' as is_marketing_development_funded,
        does_opp_belong_to_nat_sec = 'Yes' as is_national_security,

        ---------- dates
        target_close_date,
        aws_close_date,
        contract_start_date,
        contract_end_date,

        ---------- timestamps
        -- The export writes naive UTC timestamps.
        cast(accept_by as timestamp) at time zone 'utc' as accept_by,
        cast(created_date as timestamp) at time zone 'utc' as created_at,
        cast(last_modified_date as timestamp) at time zone 'utc' as last_modified_at,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
