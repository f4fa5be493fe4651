with

leads as (

    select * from {{ ref('stg_odoo__crm_leads') }}

),

partners as (

    select * from {{ ref('stg_odoo__res_partners') }}

),

opportunities as (

    select * from leads
    where lead_type = 'opportunity'

),

joined as (

    select
        opportunities.lead_id as opportunity_id,
        opportunities.lead_name as opportunity_name,
        opportunities.partner_id,
        coalesce(partners.partner_name, opportunities.partner_name) as partner_name,
        coalesce(
            partners.commercial_company_name,
            case when commercial_partners.is_company then commercial_partners.partner_name end,
            opportunities.partner_name,
            partners.partner_name
        ) as company_name,
        coalesce(opportunities.email, partners.email) as email,
        coalesce(opportunities.website, partners.website, commercial_partners.website) as website,
        opportunities.probability,
        opportunities.expected_revenue,
        opportunities.stage_id,
        opportunities.user_id,
        opportunities.team_id,
        opportunities.aws_account_id_ref,
        opportunities.description,
        opportunities.is_active,
        opportunities.date_deadline,
        opportunities.date_closed,
        opportunities.create_date,
        opportunities.write_date

    from opportunities
    left join partners
        on opportunities.partner_id = partners.partner_id
    left join partners as commercial_partners
        on partners.commercial_partner_id = commercial_partners.partner_id

)

select * from joined
