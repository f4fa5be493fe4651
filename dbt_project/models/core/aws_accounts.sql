{{
    config(
        post_hook=[
            after_commit("{{ create_index(['aws_account_id_ref'], unique=true) }}"),
            after_commit("{{ create_index(['aws_account_id']) }}"),
            after_commit("{{ create_index(['normalized_domain']) }}"),
            after_commit("{{ create_index(['normalized_company_name']) }}"),
        ]
    )
}}

with

aws_accounts as (

    select * from {{ ref('int_aws_accounts_joined_to_related_records') }}

),

normalized as (

    select
        *,
        coalesce(
            {{ normalize_domain('domain') }}, {{ email_domain('root_email') }}
        ) as normalized_domain,
        {{ normalize_company_name('company_name') }} as normalized_company_name

    from aws_accounts

),

final as (

    select
        aws_account_id_ref,
        aws_account_id,
        account_name,
        account_type,
        status,
        is_active,
        company_name,
        registered_company_name,
        partner_id,
        partner_name,
        salesperson_user_id,
        salesperson_name,
        payer_account_id_ref,
        payer_account_id,
        payer_account_name,
        root_email,
        domain,
        normalized_domain,
        normalized_company_name,
        create_date,
        write_date,
        -- "Acme Inc. (acme.com). AWS account 123456789012 (acme-prod)"
        {{ combined_text('company_name', 'normalized_domain', [
            "'AWS account ' || concat_ws(' ', aws_account_id, '(' || account_name || ')')",
        ]) }} as combined_text

    from normalized

)

select * from final
