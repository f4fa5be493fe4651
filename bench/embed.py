"""Benchmark Aura's embedding path and its HNSW index: throughput, re-run cost, recall, latency.

Run with ``.venv/bin/python bench/embed.py [--texts 2000] [--rounds 2] [--vectors 100000]
[--queries 200] [--keep]``. In a private ``bench_embed`` database on the warehouse server,
migrated like the warehouse, it

1. times, in alternation, bare ``FlagModel.encode`` and the embedding asset's path
   (``sync_embeddings`` of the identity and context texts, then ``ensure_hnsw_index``) on the same
   opportunity-like texts drawn from the demo generator's vocabulary;
2. syncs the same texts again and counts the model calls (there should be none);
3. stores ``--vectors`` vectors of the model (the real embeddings, topped up with synthetic ones
   mixed from them, see ``_synthesize``), builds the HNSW index and compares, for held-out real
   queries, the top 10 of ``nearest`` with an exact scan: recall@10 and latency, at the
   configured ``AURA_HNSW_EF_SEARCH`` and a few other values, unfiltered and filtered to 5%.

See ``bench/README.md`` for what the figures mean. Exits 0 whatever the numbers; non-zero on
errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from aura_demo import names
from aura_demo.world import build_world
from aura_platform.search.embedding import Embedder, load_embedder, load_options
from aura_platform.search.vector_store import (
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    Hit,
    ensure_hnsw_index,
    hnsw_index_name,
    nearest,
    sync_embeddings,
)
from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse
from aura_platform.warehouse.connection import connect, drop_database, ensure_database
from aura_platform.warehouse.migrate import apply_migrations

BENCH_DB = "bench_embed"
TEXT_TABLE = "bench.opportunities"
VECTOR_TABLE = "bench.vectors"
RARE_TABLE = "bench.vectors_rare"  # every 20th stored vector: what a 5% filter keeps
RARE_EVERY = 20
SEED = 7
K = 10
THROUGHPUT_TARGET = 0.9  # asset texts/s over bare FlagModel.encode texts/s: at least this
RERUN_CALLS_TARGET = 0  # model calls when nothing changed: at most this
RECALL_TARGET = 0.95  # HNSW recall@10 against the exact top 10: at least this
EF_SEARCH_SWEEP = (40, 200, 400)  # shown besides AURA_HNSW_EF_SEARCH: recall against latency
# A synthetic vector mixes this many real ones, then adds isotropic noise of this norm: it lands
# among the real vectors rather than in empty space, and no two are copies (see _synthesize).
MIX_PARENTS = 3
MIX_NOISE = 0.35


@dataclass(frozen=True)
class Timing:
    texts: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Search:
    """The hits of every query and how long each query took."""

    hits: list[list[Hit]]
    seconds: list[float]

    def recall(self, exact: Search) -> float:
        """Mean share of the exact top k that the approximate search found, over the queries."""
        shares = [
            len({h.source_id for h in approx} & {h.source_id for h in truth}) / len(truth)
            for approx, truth in zip(self.hits, exact.hits, strict=True)
            if truth
        ]
        return statistics.fmean(shares)

    def recall_with_ties(self, exact: Search) -> float:
        """Like ``recall``, but a hit as similar as the exact k-th (within 1e-3) counts as found.

        ann-benchmarks' definition: among near-equal neighbours, which ids make the exact top k
        is an accident of the order rows were stored in.
        """
        shares = [
            sum(h.similarity >= truth[-1].similarity - 1e-3 for h in approx) / len(truth)
            for approx, truth in zip(self.hits, exact.hits, strict=True)
            if truth
        ]
        return statistics.fmean(shares)

    def percentile_ms(self, q: int) -> float:
        return float(np.percentile(self.seconds, q)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="texts embedded (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated timing rounds")
    parser.add_argument("--vectors", type=int, default=100_000, help="vectors in the index")
    parser.add_argument("--queries", type=int, default=200, help="held-out queries")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if args.queries < 1 or args.texts < 2 * args.queries:
        parser.error("--queries must be at least 1 and --texts at least twice --queries")

    settings = Settings.from_env()
    prepare_warehouse(settings)
    drop_database(settings, BENCH_DB)
    url = ensure_database(settings, BENCH_DB)
    apply_migrations(url)
    try:
        return _run(settings, url, args)
    finally:
        if not args.keep:
            drop_database(settings, BENCH_DB)


def _run(settings: Settings, url: str, args: argparse.Namespace) -> int:
    """Time every part, print the report."""
    import torch
    from FlagEmbedding import FlagModel

    texts = _opportunity_texts(args.texts)
    every_text = [text for by_id in texts.values() for text in by_id.values()]
    embedder = load_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    options = load_options(embedder.spec, cuda=torch.cuda.is_available())
    bare = FlagModel(**options.flag_model_kwargs())
    print(
        f"model {embedder.model_name} ({embedder.dimensions} dimensions) on {options.device}"
        f"{' fp16' if options.use_fp16 else ' fp32'}, batch size {embedder.batch_size}, "
        f"{len(every_text):,} texts ({len(texts['identity']):,} identity + "
        f"{len(texts['context']):,} context)",
        flush=True,
    )
    warm_up = every_text[: embedder.batch_size]
    embedder.encode(warm_up)
    _quietly(lambda: bare.encode(warm_up, batch_size=embedder.batch_size))

    timings: dict[str, list[Timing]] = {"bare": [], "aura": []}
    vectors = np.empty(0)
    for round_no in range(1, args.rounds + 1):
        # Alternate who goes first, so neither always gets the warmer caches.
        order = ("bare", "aura") if round_no % 2 else ("aura", "bare")
        for key in order:
            if key == "bare":
                started = time.perf_counter()
                vectors = _quietly(lambda: bare.encode(every_text, batch_size=embedder.batch_size))
                timings["bare"].append(Timing(len(every_text), time.perf_counter() - started))
            else:
                timings["aura"].append(_timed_sync(url, texts, embedder, fresh=True))
        print(
            f"round {round_no}: "
            + ", ".join(
                f"{k} {v[-1].seconds:.1f}s ({v[-1].rate:,.0f}/s)" for k, v in timings.items()
            ),
            flush=True,
        )
    calls_before = embedder.calls
    rerun = _timed_sync(url, texts, embedder, fresh=False)
    rerun_calls = embedder.calls - calls_before

    print(f"\nHNSW: {args.vectors:,} vectors, {args.queries} held-out queries", flush=True)
    queries, stored, real_count = _index_vectors(np.asarray(vectors), args.vectors, args.queries)
    build_seconds = _load_vectors(url, stored, embedder)
    ef_values = sorted({settings.hnsw_ef_search, *EF_SEARCH_SWEEP})
    searches = _searches(url, queries, embedder, ef_values)

    _report(timings, rerun, rerun_calls, searches, settings.hnsw_ef_search)
    print(
        f"index: {len(stored):,} vectors ({real_count:,} real embeddings, "
        f"{len(stored) - real_count:,} synthetic), m={HNSW_M}, "
        f"ef_construction={HNSW_EF_CONSTRUCTION}, ef_search={settings.hnsw_ef_search}, "
        f"built in {build_seconds:.1f}s"
    )
    print(_similarity_profile(queries, stored, real_count))
    print(_machine(url))
    return 0


def _opportunity_texts(count: int) -> dict[str, dict[str, str]]:
    """Identity and context texts shaped like core.odoo_opportunities' (half each).

    Companies, contacts and domains come from the demo generator's world, project names and
    descriptions from its project themes, joined with `` | `` as the embedding asset joins columns.
    """
    rng = random.Random(SEED)
    customers = build_world(rng, customers=count // 2).customers
    identity: dict[str, str] = {}
    context: dict[str, str] = {}
    for i, customer in enumerate(customers):
        theme = rng.choice(names.PROJECT_THEMES)
        contact = rng.choice(customer.contacts)
        identity[str(i)] = f"{customer.legal_name} | {contact.name} | {customer.domain}"
        # Named after the customer, as most demo opportunities are: no two texts are equal, so
        # the exact top 10 is not an arbitrary pick among identical vectors.
        title = rng.choice(
            (
                f"{customer.legal_name} - {theme.title}",
                f"{customer.core}: {theme.title}",
                f"{theme.title} ({customer.core})",
            )
        )
        context[str(i)] = f"{title} | {theme.description}" if rng.random() < 0.8 else title
    return {"identity": identity, "context": context}


def _quietly(call: Callable[[], np.ndarray]) -> np.ndarray:
    """FlagModel.encode draws progress bars on stderr; they would break up the report."""
    with contextlib.redirect_stderr(io.StringIO()):
        return call()


def _timed_sync(
    url: str, texts: Mapping[str, Mapping[str, str]], embedder: Embedder, *, fresh: bool
) -> Timing:
    """What the embedding asset does: sync each text type, ensure the index, commit.

    ``fresh`` first removes the bench's rows and the model's index: a first materialization.
    """
    with connect(url) as conn:
        if fresh:
            _drop_rows_and_index(conn, embedder.model_name)
        started = time.perf_counter()
        embedded = 0
        for embedding_type, by_id in texts.items():
            stats = sync_embeddings(
                conn,
                source_table=TEXT_TABLE,
                embedding_type=embedding_type,
                texts=by_id,
                embedder=embedder,
            )
            embedded += stats.embedded + stats.skipped
        ensure_hnsw_index(conn, model=embedder.model_name, dimensions=embedder.dimensions)
        conn.commit()
        return Timing(embedded, time.perf_counter() - started)


def _drop_rows_and_index(conn: psycopg.Connection, model: str) -> None:
    with conn.transaction():
        conn.execute("delete from search.embeddings where model = %s", (model,))
        conn.execute(
            sql.SQL("drop index if exists search.{}").format(sql.Identifier(hnsw_index_name(model)))
        )


def _index_vectors(
    real: np.ndarray, count: int, queries: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Split off held-out queries; fill the rest up to ``count`` vectors; say how many are real."""
    rng = np.random.default_rng(SEED)
    shuffled = real[rng.permutation(len(real))]
    held_out, basis = shuffled[:queries], shuffled[queries:]
    if len(basis) >= count:
        return held_out, basis[:count], count
    return held_out, np.vstack([basis, _synthesize(basis, count - len(basis), rng)]), len(basis)


def _synthesize(basis: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors near the real ones: random convex mixes of MIX_PARENTS real vectors plus noise.

    Embedding 100,000 distinct texts on a laptop CPU takes too long for a benchmark. Mixing real
    vectors keeps the synthetic ones inside the cone the model's vectors occupy (isotropic random
    vectors would all be nearly orthogonal to each other and to the queries, an unrealistically
    hard set), and the noise keeps them from being near-copies of one another (too easy).
    """
    parents = rng.integers(0, len(basis), size=(count, MIX_PARENTS))
    weights = rng.dirichlet(np.ones(MIX_PARENTS), size=count).astype(np.float32)
    mixed = np.einsum("np,npd->nd", weights, basis[parents])
    noise = rng.normal(size=mixed.shape).astype(np.float32) * (MIX_NOISE / np.sqrt(basis.shape[1]))
    mixed += noise
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed.astype(np.float32)


def _load_vectors(url: str, stored: np.ndarray, embedder: Embedder) -> float:
    """COPY the vectors in under the model (every RARE_EVERY-th in RARE_TABLE), build the index.

    Returns:
        Seconds the HNSW index build took.
    """
    with connect(url) as conn:
        _drop_rows_and_index(conn, embedder.model_name)
        register_vector(conn)
        with conn.cursor().copy(
            "copy search.embeddings (source_table, source_id, embedding_type, model, dimensions,"
            " content, content_hash, embedding) from stdin (format binary)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "int4", "text", "text", "vector"])
            for i, vector in enumerate(stored):
                table = RARE_TABLE if i % RARE_EVERY == 0 else VECTOR_TABLE
                row = (table, str(i), "context", embedder.model_name, embedder.dimensions)
                copy.write_row((*row, f"vector {i}", "-", vector))
        conn.commit()
        started = time.perf_counter()
        ensure_hnsw_index(conn, model=embedder.model_name, dimensions=embedder.dimensions)
        seconds = time.perf_counter() - started
        conn.execute("analyze search.embeddings")
        conn.commit()
    return seconds


def _searches(
    url: str, queries: np.ndarray, embedder: Embedder, ef_values: list[int]
) -> dict[tuple[str | None, int | None], Search]:
    """Every query, unfiltered and filtered to RARE_TABLE, by HNSW at each ef_search and exactly.

    Returns:
        Searches keyed by (table filter, ef_search), ef_search None for the exact scan.
    """
    results: dict[tuple[str | None, int | None], Search] = {}
    with connect(url) as conn:
        for table in (None, RARE_TABLE):
            # The HNSW index can answer no query while index scans are off: this is the exact
            # scan-and-sort over every row of the model, in the same statement nearest runs.
            with conn.transaction():
                conn.execute("set local enable_indexscan = off")
                results[table, None] = _search(conn, queries, embedder, table, ef_values[0])
            _search(conn, queries, embedder, table, ef_values[0])  # index pages into the cache
            for ef_search in ef_values:
                results[table, ef_search] = _search(conn, queries, embedder, table, ef_search)
    return results


def _search(
    conn: psycopg.Connection,
    queries: np.ndarray,
    embedder: Embedder,
    table: str | None,
    ef_search: int,
) -> Search:
    """``nearest`` for each query, as ``aura search`` calls it, timed one by one."""
    hits, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        hits.append(
            nearest(
                conn,
                query_vector=query,
                model=embedder.model_name,
                dimensions=embedder.dimensions,
                k=K,
                source_table=table,
                ef_search=ef_search,
            )
        )
        seconds.append(time.perf_counter() - started)
    return Search(hits, seconds)


def _report(
    timings: dict[str, list[Timing]],
    rerun: Timing,
    rerun_calls: int,
    searches: dict[tuple[str | None, int | None], Search],
    ef_search: int,
) -> None:
    """Each figure against its target, then the information lines."""
    bare, aura = (max(timings[key], key=lambda t: t.rate) for key in ("bare", "aura"))
    ratio = aura.rate / bare.rate
    hnsw, exact = searches[None, ef_search], searches[None, None]
    rare, rare_exact = searches[RARE_TABLE, ef_search], searches[RARE_TABLE, None]
    print()
    print(f"{'run':<44}{'texts':>8}{'best s':>9}{'texts/s':>10}{'median s':>10}")
    for label, runs in (
        ("bare FlagModel.encode", timings["bare"]),
        ("Aura embedding asset path", timings["aura"]),
    ):
        best = max(runs, key=lambda t: t.rate)
        median = statistics.median(t.seconds for t in runs)
        print(f"{label:<44}{best.texts:>8,}{best.seconds:>9.2f}{best.rate:>10,.1f}{median:>10.2f}")
    print(f"(best of {len(timings['bare'])} alternated rounds)")
    print()
    print(f"{'ef_search':>9}{'recall@' + str(K):>11}{'with ties':>11}{'p50 ms':>9}{'p95 ms':>9}")
    for (table, ef), search in searches.items():
        if table is None:
            recall, ties = (search.recall(exact), search.recall_with_ties(exact))
            p50, p95 = search.percentile_ms(50), search.percentile_ms(95)
            label = "exact" if ef is None else str(ef)
            print(f"{label:>9}{recall:>11.3f}{ties:>11.3f}{p50:>9.1f}{p95:>9.1f}")
    print()
    _target("asset / bare FlagModel.encode, texts/s", f"{ratio:.2f}", ">=", THROUGHPUT_TARGET)
    _target("model calls on an unchanged re-run", str(rerun_calls), "<=", RERUN_CALLS_TARGET)
    print(f"  ({rerun.texts:,} texts checked in {rerun.seconds:.2f}s)")
    _target(
        f"HNSW recall@{K} vs exact, ef_search {ef_search}",
        f"{hnsw.recall(exact):.3f}",
        ">=",
        RECALL_TARGET,
    )
    print(
        f"HNSW query latency, ms: p50 {hnsw.percentile_ms(50):.1f}, "
        f"p95 {hnsw.percentile_ms(95):.1f}  (exact scan: p50 {exact.percentile_ms(50):.1f})"
    )
    print(
        f"filtered to {100 // RARE_EVERY}% of the rows: recall@{K} {rare.recall(rare_exact):.3f}, "
        f"{sum(len(h) == K for h in rare.hits)}/{len(rare.hits)} queries got {K} rows, "
        f"p50 {rare.percentile_ms(50):.1f} ms  (information)"
    )


def _target(label: str, value: str, comparison: str, target: float) -> None:
    """One figure, its target and whether it is met."""
    met = float(value) >= target if comparison == ">=" else float(value) <= target
    print(f"{label:<42}{value:>7}  target {comparison} {target:<5} {'PASS' if met else 'MISS'}")


def _similarity_profile(queries: np.ndarray, stored: np.ndarray, real_count: int) -> str:
    """How close the queries' neighbours are, among the real vectors alone and in the whole set.

    Shows what the synthetic vectors change: denser neighbourhoods, as a larger real corpus has.
    """
    parts = []
    for label, vectors in (("real only", stored[:real_count]), ("all", stored)):
        top = -np.sort(-(queries @ vectors.T), axis=1)[:, :K]
        parts.append(
            f"{label} 1st {np.median(top[:, 0]):.3f} / {K}th {np.median(top[:, K - 1]):.3f}"
        )
    return "median cosine similarity of a query's neighbours: " + "; ".join(parts)


def _machine(url: str) -> str:
    """The CPUs we may use, how busy the machine was, and the server's relevant settings."""
    with connect(url) as conn:
        shown = {
            name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()
            for name in ("server_version", "shared_buffers", "maintenance_work_mem")
        }
        version = conn.execute("select extversion from pg_extension where extname = 'vector'")
        pgvector = version.fetchone()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    settings = ", ".join(f"{name} {row[0] if row else '?'}" for name, row in shown.items())
    return (
        f"machine: nproc {cpus}, load average {load}, {platform.machine()} {platform.system()}; "
        f"PostgreSQL {settings}; pgvector {pgvector[0] if pgvector else '?'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
