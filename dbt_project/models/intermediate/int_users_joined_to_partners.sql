with

users as (

    select * from {{ ref('stg_odoo__res_users') }}

),

partners as (

    select * from {{ ref('stg_odoo__res_partners') }}

),

joined as (

    select
        users.user_id,
        users.partner_id,
        users.login,
        -- Odoo keeps a user's name and email on the user's partner.
        coalesce(partners.partner_name, users.login) as user_name,
        coalesce(partners.email, case when users.login like '%@%' then users.login end) as email,
        users.is_active,
        users.is_portal_user

    from users
    left join partners
        on users.partner_id = partners.partner_id

)

select * from joined
