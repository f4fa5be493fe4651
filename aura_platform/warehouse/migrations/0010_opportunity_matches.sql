-- Which ACE opportunity is which Odoo opportunity, written by the search/opportunity_matches asset
-- (aura_platform/lib/matching.py). Each run replaces a model's rows: an Odoo opportunity's best
-- candidates by score, with every signal behind the score, and at most one chosen match per
-- opportunity on either side. pg_trgm scores how alike two normalised company names are.
create extension if not exists pg_trgm;

create table if not exists search.opportunity_matches (
    model               text not null,
    odoo_opportunity_id bigint not null,
    ace_opportunity_id  bigint not null,
    rank                integer not null check (rank >= 1),
    score               double precision not null,
    components          jsonb not null,
    is_match            boolean not null,
    dagster_run_id      text,
    computed_at         timestamptz not null default now(),
    primary key (model, odoo_opportunity_id, ace_opportunity_id)
);

comment on column search.opportunity_matches.model is
    'embedding model whose similarities went into the score';
comment on column search.opportunity_matches.rank is
    'position among this Odoo opportunity''s candidates by score, 1 = best';
comment on column search.opportunity_matches.components is
    'each signal in [0, 1] (crm_id, aws_account, domain, company_name, identity, context)';
comment on column search.opportunity_matches.is_match is
    'chosen by the one-to-one assignment: best remaining score, at least min_score';

-- The assignment is one-to-one; the database refuses anything else.
create unique index if not exists opportunity_matches_one_per_odoo
    on search.opportunity_matches (model, odoo_opportunity_id) where is_match;
create unique index if not exists opportunity_matches_one_per_ace
    on search.opportunity_matches (model, ace_opportunity_id) where is_match;
