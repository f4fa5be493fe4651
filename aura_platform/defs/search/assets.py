"""Search assets: one embedding asset per table in ``assets_config/embeddings.yaml``, and the
opportunity matching built on them (``assets_config/matching.yaml``)."""

from collections.abc import Iterable

import dagster as dg
from psycopg import sql

from aura_platform.config.loader import CONFIG_DIR, ConfigError, load_embeddings, load_matching
from aura_platform.config.models import EmbeddingsFile, EmbeddingTableConfig, MatchingFile
from aura_platform.defs.resources import WarehouseResource
from aura_platform.execution.executors import embedding_op_tags
from aura_platform.search.evaluation import (
    Decoy,
    GroundTruthPair,
    decoys,
    ground_truth,
    ground_truth_path,
)
from aura_platform.search.matching import (
    ACE_TABLE,
    BLOCKING_RULES,
    COMPARISONS,
    EMBEDDING_TYPES,
    ODOO_TABLE,
    MatchRun,
    MatchSettings,
    candidate_recall,
    evaluate,
    load_decisions,
    match_opportunities,
    truth_with_decisions,
)
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

MATCHES_KEY = dg.AssetKey(["search", "opportunity_matches"])


def texts_query(table: EmbeddingTableConfig, text_type: str) -> sql.Composed:
    """SELECT id, text for one text type: the configured columns joined, NULLs skipped."""
    parts: list[sql.Composable] = [
        sql.SQL("nullif(trim({}::text), '')").format(sql.Identifier(c))
        for c in table.texts[text_type]
    ]
    return sql.SQL("select {id}::text, nullif(concat_ws(' | ', {cols}), '') from {src}").format(
        id=sql.Identifier(table.id_column),
        cols=sql.SQL(", ").join(parts),
        src=sql.Identifier(table.schema_name, table.table_name),
    )


def build_embedding_asset(name: str, table: EmbeddingTableConfig) -> dg.AssetsDefinition:
    """The asset that keeps ``search.embeddings`` in step with one core table."""

    @dg.asset(
        key=["search", name],
        deps=[dg.AssetKey([table.schema_name, table.table_name])],
        group_name="search",
        kinds={"pgvector", "python"},
        owners=["team:data-platform"],
        op_tags=embedding_op_tags(Settings.from_env()),
        description=(
            f"{table.description} Incremental: only new or changed texts of {table.source} are "
            "embedded; embeddings of deleted rows are removed."
        ),
    )
    def _embedding_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        from aura_platform.search.embedding import load_embedder
        from aura_platform.search.vector_store import ensure_hnsw_index, sync_embeddings

        settings = warehouse.settings()
        embedder = load_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
        metadata: dict[str, object] = {
            "model": embedder.model_name,
            "dimensions": embedder.dimensions,
        }
        with connect(warehouse.url()) as conn:
            for text_type in table.texts:
                texts: dict[str, str | None] = dict(
                    conn.execute(texts_query(table, text_type)).fetchall()
                )
                stats = sync_embeddings(
                    conn,
                    source_table=table.source,
                    embedding_type=text_type,
                    texts=texts,
                    embedder=embedder,
                )
                context.log.info(f"{table.source} {text_type}: {stats}")
                for field in ("embedded", "skipped", "removed", "empty"):
                    metadata[f"{text_type}_{field}"] = getattr(stats, field)
            # The rows are committed before the index is ensured: a step that held its write
            # open while waiting for the index's share lock would deadlock with another
            # embedding step of the same model doing the same.
            conn.commit()
            metadata["hnsw_index"] = ensure_hnsw_index(
                conn, model=embedder.model_name, dimensions=embedder.dimensions
            )
            conn.commit()
        metadata["model_calls"] = embedder.calls
        return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]

    return _embedding_asset


embedding_assets = [build_embedding_asset(n, t) for n, t in load_embeddings().tables.items()]


def demo_ground_truth(settings: Settings) -> list[GroundTruthPair] | None:
    """The demo's known pairs, or None where no demo was generated (real sources have none)."""
    return ground_truth(settings) if ground_truth_path(settings).exists() else None


def demo_decoys(settings: Settings) -> list[Decoy]:
    """The demo's ACE opportunities without counterpart (none where no demo was generated)."""
    return decoys(settings)


def truth_pairs(truth: Iterable[GroundTruthPair]) -> list[tuple[int, int]]:
    """Ground-truth pairs as (Odoo opportunity id, ACE opportunity id), as core keys them."""
    return [(p.odoo_lead_id, p.ace_opportunity_id) for p in truth]


def _ratio(value: float | None) -> dg.MetadataValue:
    """A precision or recall; null where its denominator was 0, never a made-up 0."""
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(round(value, 4))


def matched_embedding_keys(embeddings: EmbeddingsFile, *sources: str) -> list[dg.AssetKey]:
    """The embedding assets of ``sources``; matching cannot run without them, nor without the
    text types it compares (``EMBEDDING_TYPES``) embedded for each."""
    path = CONFIG_DIR / "embeddings.yaml"
    names = {table.source: name for name, table in embeddings.tables.items()}
    missing = [source for source in sources if source not in names]
    if missing:
        raise ConfigError(
            f"{path}: no entry embeds {', '.join(missing)}, which matching.yaml matches"
        )
    for source in sources:
        lacking = [t for t in EMBEDDING_TYPES if t not in embeddings.tables[names[source]].texts]
        if lacking:
            raise ConfigError(
                f"{path}: tables.{names[source]}.texts: matching compares the "
                f"{' and '.join(EMBEDDING_TYPES)} embeddings of {source}, which has no "
                f"{' or '.join(lacking)} text"
            )
    return [dg.AssetKey(["search", names[source]]) for source in sources]


@dg.asset(
    key=MATCHES_KEY,
    deps=[
        *matched_embedding_keys(load_embeddings(), ODOO_TABLE, ACE_TABLE),
        dg.AssetKey(ODOO_TABLE.split(".")),
        dg.AssetKey(ACE_TABLE.split(".")),
    ],
    group_name="search",
    kinds={"pgvector", "python"},
    owners=["team:data-platform"],
    description=(
        "Which ACE opportunity is which Odoo opportunity. Candidates come from several blocking "
        "rules on both sides (Odoo id, AWS or payer account, domain, e-mail, a name word, "
        "nearest neighbours by each embedding type); a splink Fellegi-Sunter model trained on "
        "the data each run gives each pair a match probability, explained per comparison; an "
        "optimal one-to-one assignment chooses matches from match_probability up and queues "
        "those between review_probability and it for review. Reviewers' decisions win. "
        "Precision and recall are measured against the demo's ground truth when it exists."
    ),
)
def opportunity_matches(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    config = load_matching()
    settings = warehouse.settings()
    with connect(warehouse.url()) as conn:
        run = match_opportunities(
            conn,
            model=settings.embedding_model,
            settings=match_settings(config, ef_search=settings.hnsw_ef_search),
            run_id=context.run.run_id,
        )
        decisions = load_decisions(conn)
    metadata: dict[str, dg.RawMetadataValue] = {
        "model": settings.embedding_model,
        "top_k": config.top_k,
        "match_probability": dg.MetadataValue.float(config.match_probability),
        "review_probability": dg.MetadataValue.float(config.review_probability),
        "odoo_records": run.odoo_records,
        "ace_records": run.ace_records,
        "candidates": run.candidates,
        **{f"candidates_{rule}": run.candidates_by_rule.get(rule, 0) for rule in BLOCKING_RULES},
        "rows": run.rows,
        "matches": len(run.matches),
        "review_queue": len(run.review),
        "decisions": len(decisions),
        "seconds": dg.MetadataValue.float(round(run.seconds, 2)),
        "prior_match_weight": dg.MetadataValue.float(round(run.prior_weight, 3)),
        "level_weights": dg.MetadataValue.json(run.parameters),
        "training": dg.MetadataValue.json(run.training),
        "weakest_matches": dg.MetadataValue.md(explanation_table(run, limit=10)),
    }
    truth = demo_ground_truth(settings)
    if truth is None:
        metadata["ground_truth"] = f"none at {ground_truth_path(settings)}: not measured"
    else:
        pairs = truth_with_decisions(truth_pairs(truth), decisions)
        quality = evaluate(run.matches, pairs)
        metadata.update(
            ground_truth_pairs=quality.pairs,
            correct=quality.correct,
            precision_at_1=_ratio(quality.precision),
            recall_at_1=_ratio(quality.recall),
            candidate_recall=_ratio(candidate_recall(run.candidate_pairs, pairs)),
        )
        for kind in sorted({p.match_kind for p in truth}):
            kind_truth = truth_pairs(p for p in truth if p.match_kind == kind)
            metadata[f"recall_at_1_{kind}"] = _ratio(evaluate(run.matches, kind_truth).recall)
        fooled = [d for d in demo_decoys(settings) if d.ace_opportunity_id in run.matches.values()]
        all_decoys = demo_decoys(settings)
        metadata["decoys"] = len(all_decoys)
        metadata["decoy_abstention"] = _ratio(
            1 - len(fooled) / len(all_decoys) if all_decoys else None
        )
    context.log.info(
        f"{len(run.matches)} matches, {len(run.review)} for review, among {run.candidates} "
        f"candidates ({run.odoo_records} Odoo and {run.ace_records} ACE records) in "
        f"{run.seconds:.1f}s; training: {run.training}"
    )
    return dg.MaterializeResult(metadata=metadata)


def match_settings(config: MatchingFile, *, ef_search: int) -> MatchSettings:
    """The run settings of ``matching.yaml``."""
    return MatchSettings(
        top_k=config.top_k,
        max_block_pairs=config.max_block_pairs,
        match_probability=config.match_probability,
        review_probability=config.review_probability,
        prior_match_share=config.prior_match_share,
        u_sample_pairs=config.u_sample_pairs,
        ef_search=ef_search,
    )


def explanation_table(run: MatchRun, *, limit: int) -> str:
    """The ``limit`` least certain chosen matches, each comparison's contribution in a column."""
    chosen = sorted(
        (run.scored[pair] for pair in run.matches.items() if pair in run.scored),
        key=lambda p: (p.weight, p.odoo_id),
    )[:limit]
    header = ["odoo", "ace", "probability", *COMPARISONS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for p in chosen:
        cells = [str(p.odoo_id), str(p.ace_id), f"{p.probability:.3f}"]
        cells += [f"{p.contributions.get(name, 0):+.1f}" for name in COMPARISONS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
