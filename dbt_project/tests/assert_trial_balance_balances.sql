-- Every entity's trial balance balances each period: debits equal credits within a cent.
-- Returns the periods that do not.

select
    entity,
    period,
    sum(debit) as total_debit,
    sum(credit) as total_credit,
    sum(debit) - sum(credit) as difference

from {{ ref('gl_balances') }}
group by entity, period
having abs(sum(debit) - sum(credit)) > 0.01
