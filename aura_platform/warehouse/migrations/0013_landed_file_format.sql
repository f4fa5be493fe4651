-- How each landed file was read, so a person can tell why its amounts are what they are: the
-- field delimiter and the decimal separator detected for that file (',' for a European export
-- such as "1.234,56"). Null for files landed before the detection existed.
alter table ops.landed_files
    add column if not exists delimiter text,
    add column if not exists decimal_separator text check (decimal_separator in ('.', ','));
