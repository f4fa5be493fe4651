{{ config(meta={'dagster': {'ref': {'name': 'invoices'}}}) }}

-- An extracted invoice adds up: its subtotal is the sum of its item amounts and its total is
-- subtotal plus tax, each within a cent. Returns the invoices that do not.

with

item_totals as (

    select
        invoice_id,
        sum(amount) as items_amount

    from {{ ref('invoice_items') }}
    group by invoice_id

)

select
    invoices.invoice_id,
    invoices.invoice_number,
    invoices.subtotal,
    coalesce(item_totals.items_amount, 0) as items_amount,
    invoices.tax,
    invoices.total

from {{ ref('invoices') }} as invoices
left join item_totals
    on invoices.invoice_id = item_totals.invoice_id
where abs(invoices.subtotal - coalesce(item_totals.items_amount, 0)) > 0.01
    or abs(invoices.total - (invoices.subtotal + invoices.tax)) > 0.01
