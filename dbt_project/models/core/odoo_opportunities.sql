{{
    config(
        post_hook=[
            after_commit("{{ create_index(['opportunity_id'], unique=true) }}"),
            after_commit("{{ create_index(['normalized_domain']) }}"),
            after_commit("{{ create_index(['normalized_company_name']) }}"),
            after_commit("{{ create_index(['aws_account_id']) }}"),
        ]
    )
}}

with

opportunities as (

    select * from {{ ref('int_opportunities_joined_to_related_records') }}

),

normalized as (

    select
        *,
        coalesce({{ normalize_domain('website') }}, {{ email_domain('email') }}) as normalized_domain,
        {{ normalize_company_name('company_name') }} as normalized_company_name

    from opportunities

),

final as (

    select
        opportunity_id,
        opportunity_name,
        partner_id,
        partner_name,
        company_name,
        email,
        website as domain,
        normalized_domain,
        normalized_company_name,
        city,
        country_name,
        country_code,
        priority,
        probability,
        expected_revenue,
        recurring_revenue_monthly,
        stage_id,
        stage_name,
        is_won,
        user_id,
        salesperson_name,
        salesperson_email,
        team_id,
        team_name,
        aws_account_id_ref,
        aws_account_id,
        aws_account_name,
        payer_account_id_ref,
        payer_account_id,
        payer_account_name,
        pod_type,
        pod_stage,
        pod_discount_pct,
        pod_start_date,
        pod_end_date,
        description,
        is_active,
        date_deadline,
        date_open,
        date_closed,
        create_date,
        write_date,
        -- One readable text per opportunity for embeddings, e.g.
        -- "Acme Inc. (acme.com). Opportunity: Cloud migration. Move 40 VMs."
        {{ combined_text('company_name', 'normalized_domain', [
            "'Opportunity: ' || opportunity_name",
            'description',
        ]) }} as combined_text

    from normalized

)

select * from final
