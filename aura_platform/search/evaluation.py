"""Which Odoo opportunity and ACE opportunity describe the same deal, known by construction."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aura_platform.settings import Settings

FILE_NAME = "ground_truth.csv"
DECOYS_FILE_NAME = "decoys.csv"
_HEADER = ("odoo_lead_id", "ace_opportunity_id", "aws_account_id", "match_kind", "perturbation")


@dataclass(frozen=True)
class GroundTruthPair:
    """One true match.

    ``match_kind`` says what evidence the pair carries: ``crm_id`` (ACE's
    partner_crm_unique_identifier is the crm_lead id), ``aws_account`` (no id, same AWS account on
    both sides) or ``fuzzy`` (no id and no shared account: names, websites and places only).
    ``aws_account_id`` is the deal's account as Odoo records it, empty when Odoo has none.
    ``perturbation`` is the hard variant's noise on the ACE side (``demo.perturb``), empty if none.
    """

    odoo_lead_id: int  # crm_lead.id in odoo_demo
    ace_opportunity_id: int  # opportunity.id in apn_demo
    aws_account_id: str
    match_kind: str
    perturbation: str = ""


@dataclass(frozen=True)
class Decoy:
    """An ACE opportunity with no Odoo counterpart: the right answer is to match nothing.

    ``kind``: ``ace_only`` (a customer Odoo does not know), ``known_customer`` (another deal of a
    customer Odoo knows) or ``twin_name`` (another company bearing a known customer's name).
    """

    ace_opportunity_id: int
    kind: str


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
                [
                    pair.odoo_lead_id,
                    pair.ace_opportunity_id,
                    pair.aws_account_id,
                    pair.match_kind,
                    pair.perturbation,
                ]
            )
    return path


def decoys_path(settings: Settings) -> Path:
    """Where ``generate_demo`` writes the ACE opportunities that have no Odoo counterpart."""
    return settings.demo_dir / DECOYS_FILE_NAME


def write_decoys(path: Path, decoys: list[Decoy]) -> Path:
    """Write ``decoys`` ordered by ACE id, as a CSV with a header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("ace_opportunity_id", "kind"))
        for decoy in sorted(decoys, key=lambda d: d.ace_opportunity_id):
            writer.writerow([decoy.ace_opportunity_id, decoy.kind])
    return path


def decoys(settings: Settings) -> list[Decoy]:
    """The decoys written by the last ``generate_demo`` run; none before the first."""
    path = decoys_path(settings)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Decoy(int(row["ace_opportunity_id"]), row["kind"]) for row in csv.DictReader(handle)
        ]


def ground_truth(settings: Settings) -> list[GroundTruthPair]:
    """The pairs written by the last ``generate_demo`` run for these settings."""
    with ground_truth_path(settings).open(newline="", encoding="utf-8") as handle:
        return [
            GroundTruthPair(
                int(row["odoo_lead_id"]),
                int(row["ace_opportunity_id"]),
                row["aws_account_id"],
                row["match_kind"],
                row.get("perturbation") or "",
            )
            for row in csv.DictReader(handle)
        ]
