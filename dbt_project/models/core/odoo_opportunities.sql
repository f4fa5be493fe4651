with

opportunities as (

    select * from {{ ref('int_opportunities_joined_to_partners') }}

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
        probability,
        expected_revenue,
        stage_id,
        user_id,
        team_id,
        aws_account_id_ref,
        description,
        is_active,
        date_deadline,
        date_closed,
        create_date,
        write_date,
        -- One readable text per opportunity for embeddings, e.g.
        -- "Acme Inc. (acme.com). Opportunity: Cloud migration. Move 40 VMs."
        nullif(
            concat_ws(
                '. ',
                nullif(concat_ws(' ', company_name, '(' || normalized_domain || ')'), ''),
                'Opportunity: ' || opportunity_name,
                description
            ),
            ''
        ) as combined_text

    from normalized

)

select * from final
