-- Whether a text value converts to a type *exactly*, length and precision included:
-- '1234567' -> varchar(5) truncates and 1.2345 -> numeric(12,2) rounds, so both are refused,
-- as is anything that overflows. Values are compared in the unconstrained base type
-- (1.2000 -> numeric(12,2) is exact); types without equality compare as text.
create or replace function ops.converts_exactly(value text, target text) returns boolean
language plpgsql immutable as $$
declare
    base text := regexp_replace(target, '\([^)]*\)', '', 'g');
    same boolean;
begin
    if value is null then
        return true;
    end if;
    begin
        execute format('select (%L::%s)::%s = %L::%s', value, target, base, value, base)
            into same;
    exception when undefined_function then
        execute format('select (%L::%s)::text = (%L::%s)::text', value, target, value, base)
            into same;
    end;
    return coalesce(same, false);
exception when others then
    return false;
end;
$$;
