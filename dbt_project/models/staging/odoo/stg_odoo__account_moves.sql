with

source as (

    select * from {{ source('odoo', 'account_move') }}

),

renamed as (

    select

        ---------- ids
        id as move_id,
        partner_id,
        commercial_partner_id,
        journal_id,
        company_id,
        currency_id,
        invoice_user_id,
        reversed_entry_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        name as move_name,
        nullif(trim(ref), '') as reference,
        move_type,
        state,
        payment_state,
        nullif(trim(payment_reference), '') as payment_reference,
        nullif(trim(invoice_origin), '') as invoice_origin,
        invoice_partner_display_name,
        {{ html_to_text('narration') }} as narration,

        ---------- numerics
        amount_untaxed,
        amount_tax,
        amount_total,
        amount_residual,
        amount_total_signed,
        invoice_currency_rate,

        ---------- dates
        date as accounting_date,
        invoice_date,
        invoice_date_due,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
