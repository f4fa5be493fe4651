"""The matching asset's check: recall@1 against the demo's ground truth, recorded in ``ops``."""

import dagster as dg

from aura_platform.config.loader import load_matching
from aura_platform.defs.quality.standard_checks import report
from aura_platform.defs.resources import WarehouseResource
from aura_platform.defs.search.assets import MATCHES_KEY, demo_ground_truth, truth_pairs
from aura_platform.quality.expectations import SAMPLE_LIMIT
from aura_platform.quality.sql_checks import CheckOutcome
from aura_platform.search.matching import (
    evaluate,
    load_decisions,
    stored_matches,
    truth_with_decisions,
)
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

_CONFIG = load_matching().recall_at_1


def recall_outcome(url: str, settings: Settings, min_recall: float) -> CheckOutcome:
    """Recall@1 of the stored matches; not applicable where there is no ground truth to compare.

    The ground truth is the demo's, corrected by review: accepted pairs join it and rejected
    pairs leave it (``truth_with_decisions``).

    Without ground truth (real sources) the check cannot measure anything: it says so and passes
    as a warning, like every Aura check with nothing to compare, rather than claim a recall.
    """
    truth = demo_ground_truth(settings)
    if not truth:
        return CheckOutcome(
            True,
            0,
            0,
            "not applicable: no ground truth configured (only the demo writes one); matches are "
            "not measured",
            applicable=False,
        )
    with connect(url) as conn:
        matches = stored_matches(conn, settings.embedding_model)
        pairs = truth_with_decisions(truth_pairs(truth), load_decisions(conn))
    quality = evaluate(matches, pairs)
    recall = quality.recall or 0.0
    kinds = {(p.odoo_lead_id, p.ace_opportunity_id): p.match_kind for p in truth}
    missed = sorted((o, a) for o, a in pairs if matches.get(o) != a)
    precision = "n/a" if quality.precision is None else f"{quality.precision:.3f}"
    return CheckOutcome(
        passed=recall >= min_recall,
        records_checked=quality.pairs,
        records_failed=quality.pairs - quality.correct,
        description=f"recall@1 {recall:.3f} ({quality.correct} of {quality.pairs} ground-truth "
        f"pairs found; at least {min_recall:g} required), precision@1 {precision} "
        f"({quality.correct} of {quality.matched} matches right)",
        figures={
            "recall_at_1": round(recall, 4),
            "precision_at_1": None if quality.precision is None else round(quality.precision, 4),
            "matches": quality.matched,
            "min_recall": min_recall,
        },
        failing_sample=[
            {
                "odoo_opportunity_id": odoo,
                "expected_ace_opportunity_id": ace,
                "matched_ace_opportunity_id": matches.get(odoo),
                "match_kind": kinds.get((odoo, ace), "accepted_in_review"),
            }
            for odoo, ace in missed[:SAMPLE_LIMIT]
        ],
    )


@dg.asset_check(
    asset=MATCHES_KEY,
    name="recall_at_1",
    blocking=_CONFIG.severity == "ERROR",
    description=f"At least {_CONFIG.min_recall:g} of the demo's ground-truth pairs are the chosen "
    f"match of their Odoo opportunity; not applicable without ground truth ({_CONFIG.severity}).",
)
def recall_at_1(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    url = warehouse.url()
    return report(
        context,
        url,
        asset_key=MATCHES_KEY,
        check_name="recall_at_1",
        check_type="accuracy",
        severity=_CONFIG.severity,
        table="search.opportunity_matches",
        outcome=recall_outcome(url, warehouse.settings(), _CONFIG.min_recall),
    )
