with

source as (

    select * from {{ source('odoo', 'account_move_line') }}

),

renamed as (

    select

        ---------- ids
        id as move_line_id,
        move_id,
        account_id,
        partner_id,
        product_id,
        journal_id,
        company_id,
        currency_id,
        tax_line_id,
        _sync_batch_id as sync_batch_id,

        ---------- strings
        move_name,
        name as label,
        nullif(trim(ref), '') as reference,
        parent_state as move_state,
        display_type,
        matching_number,

        ---------- numerics
        sequence,
        debit,
        credit,
        balance,
        amount_currency,
        quantity,
        price_unit,
        discount as discount_percent,
        price_subtotal,
        price_total,
        amount_residual,

        ---------- booleans
        coalesce(reconciled, false) as is_reconciled,

        ---------- dates
        date as accounting_date,
        invoice_date,
        date_maturity,

        ---------- timestamps
        -- Odoo stores naive UTC timestamps.
        cast(create_date as timestamp) at time zone 'utc' as create_date,
        cast(write_date as timestamp) at time zone 'utc' as write_date,
        _ingested_at as ingested_at

    from source
    where _deleted_at is null

)

select * from renamed
