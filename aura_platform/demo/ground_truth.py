"""Which Odoo opportunity and ACE opportunity describe the same deal, known by construction."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aura_platform.settings import Settings

FILE_NAME = "ground_truth.csv"
_HEADER = ("odoo_lead_id", "ace_opportunity_id", "aws_account_id", "match_kind")


@dataclass(frozen=True)
class GroundTruthPair:
    """One true match.

    ``match_kind`` says what evidence the pair carries: ``crm_id`` (ACE's
    partner_crm_unique_identifier is the crm_lead id), ``aws_account`` (no id, same AWS account on
    both sides) or ``fuzzy`` (no id and no shared account: names, websites and places only).
    ``aws_account_id`` is the deal's account as Odoo records it, empty when Odoo has none.
    """

    odoo_lead_id: int  # crm_lead.id in odoo_demo
    ace_opportunity_id: int  # opportunity.id in apn_demo
    aws_account_id: str
    match_kind: str


def ground_truth_path(settings: Settings) -> Path:
    """Where ``generate_demo`` writes the ground truth for these settings."""
    return settings.demo_dir / FILE_NAME


def write_ground_truth(path: Path, pairs: list[GroundTruthPair]) -> Path:
    """Write ``pairs`` ordered by Odoo lead id, as a CSV with a header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_HEADER)
        for pair in sorted(pairs, key=lambda p: p.odoo_lead_id):
            writer.writerow(
                [pair.odoo_lead_id, pair.ace_opportunity_id, pair.aws_account_id, pair.match_kind]
            )
    return path


def ground_truth(settings: Settings) -> list[GroundTruthPair]:
    """The pairs written by the last ``generate_demo`` run for these settings."""
    with ground_truth_path(settings).open(newline="", encoding="utf-8") as handle:
        return [
            GroundTruthPair(
                int(row["odoo_lead_id"]),
                int(row["ace_opportunity_id"]),
                row["aws_account_id"],
                row["match_kind"],
            )
            for row in csv.DictReader(handle)
        ]
