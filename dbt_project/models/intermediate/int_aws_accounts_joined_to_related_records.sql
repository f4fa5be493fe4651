with

aws_accounts as (

    select * from {{ ref('stg_odoo__aws_accounts') }}

),

partners as (

    select * from {{ ref('stg_odoo__res_partners') }}

),

users as (

    select * from {{ ref('int_users_joined_to_partners') }}

),

joined as (

    select
        aws_accounts.aws_account_id_ref,
        aws_accounts.aws_account_id,
        aws_accounts.account_name,
        aws_accounts.account_type,
        aws_accounts.status,
        aws_accounts.is_active,
        aws_accounts.company_name as registered_company_name,
        aws_accounts.partner_id,
        partners.partner_name,
        coalesce(
            aws_accounts.company_name,
            partners.commercial_company_name,
            partners.partner_name
        ) as company_name,
        aws_accounts.user_id as salesperson_user_id,
        users.user_name as salesperson_name,
        aws_accounts.payer_account_id_ref,
        payer_accounts.aws_account_id as payer_account_id,
        payer_accounts.account_name as payer_account_name,
        aws_accounts.root_email,
        coalesce(aws_accounts.domain, partners.website) as domain,
        aws_accounts.create_date,
        aws_accounts.write_date

    from aws_accounts
    left join partners
        on aws_accounts.partner_id = partners.partner_id
    left join users
        on aws_accounts.user_id = users.user_id
    left join aws_accounts as payer_accounts
        on aws_accounts.payer_account_id_ref = payer_accounts.aws_account_id_ref

)

select * from joined
