"""Build every demo source from a seed: the Odoo and APN databases, landing files, Mongo documents.

Same seed and scale, same bytes: each part draws from its own ``random.Random`` derived from the
seed, timestamps count back from a fixed base date, and rows are numbered in generation order.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from aura_demo import schema
from aura_demo.apn import apn_tables, build_apn
from aura_demo.mongo import mongo_dir, write_mongo_documents
from aura_demo.odoo import build_odoo, odoo_tables
from aura_demo.trial_balances import write_trial_balances
from aura_demo.world import build_world
from aura_platform.config.loader import landing_dir
from aura_platform.search.evaluation import (
    decoys_path,
    ground_truth_path,
    write_decoys,
    write_ground_truth,
)
from aura_platform.settings import APN_DEMO_DB, ODOO_DEMO_DB, Settings
from aura_platform.warehouse.connection import connect, drop_database, ensure_database

ACE_SAMPLE = Path(__file__).parent / "samples" / "Opportunity-Outbound-Sample.json"

# The sources of the shipped sources.yaml that the demo rebuilds.
DEMO_SOURCE_SYSTEMS = ("odoo", "apn", "ace_exports", "mongo")

CUSTOMERS_AT_SCALE_1 = 1200
INVOICES_AT_SCALE_1 = 300


@dataclass(frozen=True)
class DemoReport:
    """What ``generate_demo`` built."""

    seed: int
    scale: float
    row_counts: dict[str, dict[str, int]]  # database -> table -> rows
    files: list[Path]
    ground_truth_pairs: int


def generate_demo(
    settings: Settings, *, seed: int = 42, scale: float = 1.0, perturb: float = 0.0
) -> DemoReport:
    """(Re)create the demo databases ``odoo_demo`` and ``apn_demo`` and write the demo files.

    Args:
        settings: where the warehouse server and the data folder are.
        seed: the same seed (and scale) always produces identical rows and files.
        scale: size knob; 1.0 is about 1,200 customers and 35,000 rows (a few seconds),
            tests use 0.05.
        perturb: share of mirrored ACE opportunities given one perturbation of
            ``demo.perturb`` (the hard variant; 0 is the plain demo), with twin-name decoys.

    Returns:
        Row counts per table per database, the files written and the ground-truth pair count.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    world = build_world(_rng(seed, "world"), customers=max(20, round(CUSTOMERS_AT_SCALE_1 * scale)))
    odoo = build_odoo(_rng(seed, "odoo"), world)
    if not 0 <= perturb <= 1:
        raise ValueError(f"perturb must be between 0 and 1, got {perturb}")
    apn = build_apn(
        _rng(seed, "apn"), world, odoo, noise=_rng(seed, "perturb"), perturb_rate=perturb
    )
    counts = {
        ODOO_DEMO_DB: _rebuild(settings, ODOO_DEMO_DB, odoo_tables(), odoo.book),
        APN_DEMO_DB: _rebuild(settings, APN_DEMO_DB, apn_tables(), apn.book),
    }
    files = write_trial_balances(_rng(seed, "ledger"), landing_dir(settings))
    files += write_mongo_documents(
        _rng(seed, "mongo"),
        mongo_dir(settings),
        world,
        invoices=max(10, round(INVOICES_AT_SCALE_1 * scale)),
        funding_refs=[row["funding_request_id"] for row in apn.book.rows("funding_request")],
        claim_numbers=[row["claim_number"] for row in apn.book.rows("cash_claim")],
    )
    files.append(write_ground_truth(ground_truth_path(settings), apn.pairs))
    files.append(write_decoys(decoys_path(settings), apn.decoys))
    files.append(_drop_ace_export(settings))
    return DemoReport(seed, scale, counts, files, len(apn.pairs))


def _drop_ace_export(settings: Settings) -> Path:
    """The real ACE outbound sample, as an export the APN file transport will find."""
    folder = settings.data_dir / "apn_exports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ACE_SAMPLE.name
    shutil.copyfile(ACE_SAMPLE, target)
    return target


def _rng(seed: int, part: str) -> random.Random:
    """One generator per part, so changing one part leaves the others' data unchanged."""
    return random.Random(f"{seed}:{part}")


def _rebuild(
    settings: Settings, database: str, tables: schema.Tables, book: schema.RowBook
) -> dict[str, int]:
    """Drop and recreate ``database``, then load it in one transaction."""
    drop_database(settings, database)
    url = ensure_database(settings, database)
    with connect(url) as conn:
        return schema.load(conn, tables, book)
