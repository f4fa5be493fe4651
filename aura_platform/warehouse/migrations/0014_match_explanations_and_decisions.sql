-- Probabilistic matching (aura_platform/lib/matching.py): each stored pair carries its
-- explanation, and reviewers' decisions live apart from the model's rows so that they survive
-- every re-run (a run replaces the model's rows, never the decisions).
alter table search.opportunity_matches
    add column if not exists match_weight double precision,
    add column if not exists levels jsonb not null default '{}'::jsonb,
    add column if not exists status text not null default 'candidate'
        check (status in ('match', 'review', 'accepted', 'rejected', 'candidate'));

comment on column search.opportunity_matches.score is
    'match probability of the Fellegi-Sunter model (splink), 0..1';
comment on column search.opportunity_matches.match_weight is
    'log2 odds behind score: the prior''s weight plus every comparison''s contribution';
comment on column search.opportunity_matches.components is
    'each comparison''s contribution to match_weight (log2 Bayes factor, term frequency included)';
comment on column search.opportunity_matches.levels is
    'the level of each comparison the pair fell in, e.g. {"domain": "same domain"}';
comment on column search.opportunity_matches.status is
    'match (chosen, at least match_probability), review (chosen, between the review and match'
    ' thresholds), accepted / rejected (a reviewer decided), candidate (anything else)';
comment on column search.opportunity_matches.is_match is
    'the pair is a match: chosen by the model above match_probability, or accepted in review';
comment on column search.opportunity_matches.rank is
    'position among this Odoo opportunity''s scored pairs by match weight, 1 = best';

create table if not exists search.match_decisions (
    odoo_opportunity_id bigint not null,
    ace_opportunity_id  bigint not null,
    decision            text not null check (decision in ('accept', 'reject')),
    decided_by          text not null,
    decided_at          timestamptz not null default now(),
    note                text,
    primary key (odoo_opportunity_id, ace_opportunity_id)
);

comment on table search.match_decisions is
    'reviewers'' verdicts on opportunity pairs (aura match accept|reject); they win over the'
    ' model on every run, and accepted pairs join the ground truth of the recall check';

-- One accepted counterpart per deal on either side.
create unique index if not exists match_decisions_one_accept_per_odoo
    on search.match_decisions (odoo_opportunity_id) where decision = 'accept';
create unique index if not exists match_decisions_one_accept_per_ace
    on search.match_decisions (ace_opportunity_id) where decision = 'accept';
