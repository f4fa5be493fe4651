"""Benchmark opportunity matching on the plain and the hard demo: quality per perturbation kind.

Run with ``.venv/bin/python bench/matching.py [--scale 0.3] [--perturb 0.3] [--seed 42]``.
For each variant (plain: no perturbation; hard: ``--perturb``), in the warehouse of the current
``AURA_HOME`` / ``AURA_PG_PORT`` (like ``aura demo``, it replaces the demo there), it

1. generates the demo and runs the main job (sync, dbt, quality, embeddings, matching);
2. runs ``match_opportunities`` again, timed on its own, and compares its matches with the
   demo's ground truth (``ground_truth.csv``) and decoys (``decoys.csv``);
3. prints, per perturbation kind of the ACE record (``none`` for unperturbed records):
   precision@1, recall@1 and candidate-set recall (the true pair among the candidates), and
   per decoy kind the share the matcher abstained on (left unmatched).

Targets (issue 13): hard precision@1 >= 0.97, recall@1 >= 0.93, decoy abstention >= 0.9; plain
>= 0.99 / 0.99. Exits 0 whatever the numbers; non-zero on errors.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

from aura_demo.generator import DEMO_SOURCE_SYSTEMS, generate_demo
from aura_platform.cli.console import output_to_file, run_log_path
from aura_platform.cli.runner import run_job
from aura_platform.config.loader import load_matching
from aura_platform.defs.search.assets import match_settings
from aura_platform.ingest.audit import forget_watermarks
from aura_platform.search.entity_names import clean_domain, normalize_company_name
from aura_platform.search.evaluation import decoys, ground_truth
from aura_platform.search.matching import MatchRun, match_opportunities
from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse
from aura_platform.warehouse.connection import connect


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--perturb", type=float, default=0.3, help="the hard variant's rate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", choices=("plain", "hard"), help="run one variant")
    args = parser.parse_args()
    # The demo is what is being run, as with `aura demo`: unset sources read its stand-ins.
    os.environ["AURA_DEMO"] = "1"
    settings = Settings.from_env()
    variants = {"plain": 0.0, "hard": args.perturb}
    for name, rate in variants.items():
        if args.only and name != args.only:
            continue
        bench_variant(settings, name, seed=args.seed, scale=args.scale, rate=rate)
    return 0


def bench_variant(settings: Settings, name: str, *, seed: int, scale: float, rate: float) -> None:
    """Build one variant, run the pipeline, then time and measure matching."""
    started = time.perf_counter()
    generate_demo(settings, seed=seed, scale=scale, perturb=rate)
    # As `aura demo` does: the rebuilt sources are read in full, not from the old watermarks.
    forget_watermarks(prepare_warehouse(settings), DEMO_SOURCE_SYSTEMS)
    log_path = run_log_path(settings, "main")
    with output_to_file(log_path):  # Dagster's and dbt's log, as `aura demo` keeps it
        report = run_job(settings, "main")
    pipeline = time.perf_counter() - started
    print(f"{name} demo: main job log {log_path}")
    if not report.success:  # matching would be measured on whatever an earlier run left
        raise SystemExit(f"{name} demo: the main job failed: {report.steps_failed}; see {log_path}")
    # The main job just normalised these names in this process: time a cold run, as a fresh
    # Dagster run process would do it.
    normalize_company_name.cache_clear()
    clean_domain.cache_clear()
    with connect(prepare_warehouse(settings)) as conn:
        run = match_opportunities(
            conn,
            model=settings.embedding_model,
            settings=match_settings(load_matching(), ef_search=settings.hnsw_ef_search),
            run_id="bench",
        )
    print(
        f"\n== {name} demo (seed {seed}, scale {scale}, perturb {rate:g}): main job "
        f"{'succeeded' if report.success else 'FAILED'} in {pipeline:.0f}s; matching "
        f"{run.seconds:.2f}s for {run.odoo_records} Odoo x {run.ace_records} ACE records, "
        f"{run.candidates} candidates, {len(run.matches)} matches, {len(run.review)} for review"
    )
    print(f"   training: {run.training}")
    print(f"   seconds per step: {run.phases}")
    print_quality(settings, run)


def print_quality(settings: Settings, run: MatchRun) -> None:
    """Precision@1, recall@1 and candidate recall per perturbation kind; decoy abstention."""
    truth = ground_truth(settings)
    by_kind = defaultdict(list)
    for pair in truth:
        by_kind[pair.perturbation or "none"].append(pair)
    print(f"   {'kind':<12}{'pairs':>7}{'precision@1':>13}{'recall@1':>10}{'cand.recall':>13}")
    rows = [*sorted(by_kind.items()), ("all", truth)]
    for kind, pairs in rows:
        matched = [p for p in pairs if p.odoo_lead_id in run.matches]
        correct = [p for p in matched if run.matches[p.odoo_lead_id] == p.ace_opportunity_id]
        in_candidates = [
            p for p in pairs if (p.odoo_lead_id, p.ace_opportunity_id) in run.candidate_pairs
        ]
        if kind == "all":
            # Overall precision also counts matches of Odoo deals that have no counterpart.
            matched = list(run.matches)  # type: ignore[arg-type]
        print(
            f"   {kind:<12}{len(pairs):>7}{_ratio(len(correct), len(matched)):>13}"
            f"{_ratio(len(correct), len(pairs)):>10}{_ratio(len(in_candidates), len(pairs)):>13}"
        )
    taken = set(run.matches.values())
    by_decoy = defaultdict(list)
    for decoy in decoys(settings):
        by_decoy[decoy.kind].append(decoy)
    all_decoys = [d for items in by_decoy.values() for d in items]
    print(f"   {'decoys':<16}{'count':>7}{'abstained':>11}")
    for kind, items in [*sorted(by_decoy.items()), ("all", all_decoys)]:
        abstained = sum(d.ace_opportunity_id not in taken for d in items)
        print(f"   {kind:<16}{len(items):>7}{_ratio(abstained, len(items)):>11}")


def _ratio(part: int, whole: int) -> str:
    """A share to three decimals; n/a where there is nothing to divide by."""
    return f"{part / whole:.3f}" if whole else "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
