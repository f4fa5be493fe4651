with

opportunities as (

    select * from {{ ref('stg_apn__opportunities') }}

),

users as (

    select * from {{ ref('stg_apn__users') }}

),

end_users as (

    select * from {{ ref('stg_apn__end_users') }}

),

primary_end_users as (

    -- One contact per opportunity: the primary one, else the first named.
    select distinct on (opportunity_id) *
    from end_users
    order by opportunity_id, is_primary desc, end_user_id

),

joined as (

    select
        opportunities.opportunity_id,
        opportunities.ace_opportunity_id,
        opportunities.partner_crm_unique_identifier,
        opportunities.aws_account_id,
        coalesce(
            opportunities.customer_company_name, primary_end_users.company_name
        ) as customer_company_name,
        opportunities.customer_website,
        coalesce(opportunities.customer_email, primary_end_users.email) as customer_email,
        coalesce(
            nullif(
                concat_ws(' ', opportunities.customer_first_name, opportunities.customer_last_name),
                ''
            ),
            nullif(concat_ws(' ', primary_end_users.first_name, primary_end_users.last_name), '')
        ) as customer_contact_name,
        opportunities.industry,
        opportunities.street_address,
        opportunities.city,
        opportunities.state,
        opportunities.postal_code,
        opportunities.country,
        opportunities.project_title,
        opportunities.project_description,
        opportunities.use_case,
        opportunities.opportunity_type,
        opportunities.opportunity_ownership,
        opportunities.delivery_models,
        opportunities.aws_products,
        opportunities.stage,
        opportunities.status,
        opportunities.aws_stage,
        opportunities.closed_lost_reason,
        opportunities.expected_monthly_aws_revenue,
        opportunities.target_close_date,
        opportunities.owner_user_id,
        coalesce(users.full_name, opportunities.opportunity_owner_name) as owner_name,
        coalesce(users.email, opportunities.opportunity_owner_email) as owner_email,
        opportunities.aws_sales_rep_name,
        opportunities.created_at,
        opportunities.last_modified_at

    from opportunities
    left join users
        on opportunities.owner_user_id = users.user_id
    left join primary_end_users
        on opportunities.opportunity_id = primary_end_users.opportunity_id

)

select * from joined
