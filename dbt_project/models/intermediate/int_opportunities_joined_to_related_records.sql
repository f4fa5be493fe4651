with

leads as (

    select * from {{ ref('stg_odoo__crm_leads') }}

),

partners as (

    select * from {{ ref('stg_odoo__res_partners') }}

),

users as (

    select * from {{ ref('int_users_joined_to_partners') }}

),

teams as (

    select * from {{ ref('stg_odoo__crm_teams') }}

),

stages as (

    select * from {{ ref('stg_odoo__crm_stages') }}

),

aws_accounts as (

    select * from {{ ref('stg_odoo__aws_accounts') }}

),

countries as (

    select * from {{ ref('stg_odoo__res_countries') }}

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
        opportunities.city,
        countries.country_name,
        countries.country_code,
        opportunities.priority,
        opportunities.probability,
        opportunities.expected_revenue,
        opportunities.recurring_revenue_monthly,
        opportunities.stage_id,
        stages.stage_name,
        coalesce(stages.is_won, false) as is_won,
        opportunities.user_id,
        users.user_name as salesperson_name,
        users.email as salesperson_email,
        opportunities.team_id,
        teams.team_name,
        opportunities.aws_account_id_ref,
        aws_accounts.aws_account_id,
        aws_accounts.account_name as aws_account_name,
        opportunities.payer_account_id_ref,
        payer_accounts.aws_account_id as payer_account_id,
        payer_accounts.account_name as payer_account_name,
        opportunities.pod_type,
        opportunities.pod_stage,
        opportunities.pod_discount_pct,
        opportunities.pod_start_date,
        opportunities.pod_end_date,
        opportunities.description,
        opportunities.is_active,
        opportunities.date_deadline,
        opportunities.date_open,
        opportunities.date_closed,
        opportunities.create_date,
        opportunities.write_date

    from opportunities
    left join partners
        on opportunities.partner_id = partners.partner_id
    left join partners as commercial_partners
        on partners.commercial_partner_id = commercial_partners.partner_id
    left join users
        on opportunities.user_id = users.user_id
    left join teams
        on opportunities.team_id = teams.team_id
    left join stages
        on opportunities.stage_id = stages.stage_id
    left join aws_accounts
        on opportunities.aws_account_id_ref = aws_accounts.aws_account_id_ref
    left join aws_accounts as payer_accounts
        on opportunities.payer_account_id_ref = payer_accounts.aws_account_id_ref
    left join countries
        on opportunities.country_id = countries.country_id

)

select * from joined
