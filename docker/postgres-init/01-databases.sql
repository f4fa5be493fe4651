-- Runs once, when the postgres volume is first initialised; the image itself has already created
-- the warehouse database "aura" (POSTGRES_DB). Aura's migrations create the schemas and tables.

-- Dagster's run, event-log and schedule storage (dagster.yaml, AURA_DAGSTER_PG_URL).
create database dagster;

-- Stand-ins for the Odoo and APN source databases while AURA_ODOO_URL / AURA_APN_URL are not set.
create database odoo_demo;
create database apn_demo;

\connect aura
create extension if not exists vector;
