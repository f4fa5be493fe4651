{{
    config(
        post_hook=[
            after_commit("{{ create_index(['opportunity_id'], unique=true) }}"),
            after_commit("{{ create_index(['normalized_domain']) }}"),
            after_commit("{{ create_index(['normalized_company_name']) }}"),
            after_commit("{{ create_index(['aws_account_id']) }}"),
            after_commit("{{ create_index(['partner_crm_unique_identifier']) }}"),
        ]
    )
}}

with

opportunities as (

    select * from {{ ref('int_ace_opportunities_joined_to_related_records') }}

),

normalized as (

    select
        *,
        coalesce(
            {{ normalize_domain('customer_website') }}, {{ email_domain('customer_email') }}
        ) as normalized_domain,
        {{ normalize_company_name('customer_company_name') }} as normalized_company_name

    from opportunities

),

final as (

    select
        opportunity_id,
        ace_opportunity_id,
        partner_crm_unique_identifier,
        customer_company_name,
        customer_website as domain,
        normalized_domain,
        normalized_company_name,
        aws_account_id,
        customer_contact_name,
        customer_email,
        industry,
        street_address,
        city,
        state,
        postal_code,
        country,
        project_title,
        project_description,
        use_case,
        opportunity_type,
        opportunity_ownership,
        delivery_models,
        aws_products,
        stage,
        status,
        aws_stage,
        closed_lost_reason,
        expected_monthly_aws_revenue,
        target_close_date,
        owner_user_id,
        owner_name,
        owner_email,
        aws_sales_rep_name,
        created_at,
        last_modified_at,
        -- The same shape as odoo_opportunities.combined_text, so the two embed alike:
        -- "Acme Inc (acme.com). Opportunity: Data lake on S3. Consolidate 3 warehouses."
        {{ combined_text('customer_company_name', 'normalized_domain', [
            "'Opportunity: ' || project_title",
            'project_description',
        ]) }} as combined_text

    from normalized

)

select * from final
