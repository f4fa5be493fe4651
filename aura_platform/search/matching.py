"""Which ACE opportunity is which Odoo opportunity: blocking, a Fellegi-Sunter model, one-to-one.

1. *Records*: both sides' deals, read from core and put in one spelling on the Python side
   (``entity_names``): names transliterated and stripped of legal forms, junk websites and
   placeholders turned into NULL, so a missing value is missing, not a disagreement.
2. *Candidates* (blocking) come from several rules, from both sides: the Odoo id ACE names, the
   AWS account (or the Odoo deal's payer account), the domain, the contact e-mail, a shared word
   of the company name (``max_block_pairs`` caps a common word), and the ``top_k`` nearest
   neighbours by each embedding type from Odoo to ACE *and* from ACE to Odoo (exact in memory up
   to ``EXACT_KNN_MAX_PAIRS``, from the HNSW index beyond).
3. *Scoring*: a splink (DuckDB) Fellegi-Sunter model compares every candidate pair on each
   signal (``COMPARISONS``). Its u probabilities come from random pairs, its m probabilities
   from expectation maximisation, first on the pairs that share an Odoo id (the exact-id
   training signal), then on pairs sharing an account and a domain; exact name and domain
   levels are term-frequency adjusted. A missing value is a neutral level (weight 0), a
   disagreement a level of its own that counts against.
4. *Assignment*: within each connected block of candidate pairs, ``linear_sum_assignment`` picks
   the one-to-one pairs with the greatest total log-odds; a pair below ``review_probability`` is
   never chosen, one between it and ``match_probability`` waits for review (``review``), and a
   reviewer's decision (``search.match_decisions``) wins over the model on every run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.types.json import Jsonb

from aura_platform.search.entity_names import clean_domain, normalize_company_name
from aura_platform.search.vector_store import set_knn_search, vector_type

log = logging.getLogger(__name__)

ODOO_TABLE = "core.odoo_opportunities"
ACE_TABLE = "core.ace_opportunities"
EMBEDDING_TYPES = ("identity", "context")
# The model's comparisons, in the order splink evaluates and explains them.
COMPARISONS = (
    "crm_id", "aws_account", "customer", "country", "city", "context", "close_date", "revenue",
)  # fmt: skip
BLOCKING_RULES = (
    "crm_id", "aws_account", "payer_account", "domain", "email", "name_word",
    "knn_identity", "knn_context",
)  # fmt: skip
# EM needs enough blocked pairs to estimate anything; below this a session is skipped.
MIN_EM_PAIRS = 30
# Up to this many cross pairs (2,000 deals a side), k-NN blocking compares every pair exactly in
# memory (a 16 MB similarity matrix, a fraction of a second); beyond it, one HNSW query per deal
# and embedding type in the warehouse (about 0.5 ms each).
EXACT_KNN_MAX_PAIRS = 4_000_000
Status = Literal["match", "review", "accepted", "rejected", "candidate"]
DecisionKind = Literal["accept", "reject"]
Pair = tuple[int, int]  # (Odoo opportunity id, ACE opportunity id)


@dataclass(frozen=True)
class MatchSettings:
    """The knobs of one run (``assets_config/matching.yaml``)."""

    top_k: int = 5
    max_block_pairs: int = 2000
    match_probability: float = 0.9
    review_probability: float = 0.6
    prior_match_share: float = 0.8
    u_sample_pairs: int = 200_000
    ef_search: int = 100


@dataclass(frozen=True)
class ScoredPair:
    """One candidate pair as the model sees it.

    ``contributions`` are each comparison's match weight (log2 Bayes factor, term-frequency
    adjustment included) and ``levels`` the comparison level that produced it; their sum plus
    the prior's weight is ``weight``, the log2 odds behind ``probability``.
    """

    odoo_id: int
    ace_id: int
    probability: float
    weight: float
    contributions: dict[str, float] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """A reviewer's verdict on one pair, kept in ``search.match_decisions``."""

    odoo_id: int
    ace_id: int
    decision: DecisionKind


@dataclass(frozen=True)
class MatchRun:
    """What one ``match_opportunities`` call found and stored.

    Attributes:
        odoo_records: Odoo opportunities read.
        ace_records: ACE opportunities read.
        candidates: Candidate pairs scored (the union of every blocking rule).
        candidates_by_rule: Pairs each blocking rule proposed (they overlap).
        candidate_pairs: Every scored pair.
        rows: Rows written to ``search.opportunity_matches``.
        matches: Odoo id -> ACE id of the chosen matches (model or accepted decision).
        review: Odoo id -> ACE id of the pairs waiting for review.
        scored: The model's view of every stored pair.
        parameters: Match weight of each comparison level: comparison -> level -> weight.
        training: What each training step did ("ran" or why it was skipped).
        prior_weight: log2 prior odds of two random records matching.
        seconds: Wall time of the whole call.
        phases: Wall time of each step: records, blocking, training, scoring, assignment and
            storing.
    """

    odoo_records: int
    ace_records: int
    candidates: int
    candidates_by_rule: dict[str, int]
    candidate_pairs: frozenset[Pair]
    rows: int
    matches: dict[int, int]
    review: dict[int, int]
    scored: dict[Pair, ScoredPair]
    parameters: dict[str, dict[str, float]]
    training: dict[str, str]
    prior_weight: float
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchQuality:
    """Chosen matches against a ground truth that lists every true pair.

    ``precision`` is correct matches / chosen matches (a match for an Odoo opportunity that has
    no true pair is wrong); ``recall`` is correct matches / ground-truth pairs. Either is None
    when its denominator is 0.
    """

    pairs: int
    matched: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.matched if self.matched else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.pairs if self.pairs else None


def evaluate(matches: Mapping[int, int], truth: Iterable[Pair]) -> MatchQuality:
    """Precision and recall of the chosen matches against ground-truth (Odoo id, ACE id) pairs."""
    pairs = set(truth)
    return MatchQuality(
        pairs=len(pairs),
        matched=len(matches),
        correct=sum((odoo, ace) in pairs for odoo, ace in matches.items()),
    )


def candidate_recall(candidates: Iterable[Pair], truth: Iterable[Pair]) -> float | None:
    """Share of ground-truth pairs among the candidates: the ceiling blocking puts on recall."""
    pairs = set(truth)
    return len(pairs & set(candidates)) / len(pairs) if pairs else None


def truth_with_decisions(truth: Iterable[Pair], decisions: Iterable[Decision]) -> set[Pair]:
    """The ground truth as review corrected it: accepted pairs in, rejected pairs out.

    An accepted pair replaces any other pair of either of its deals: a deal has one counterpart.
    """
    pairs = set(truth)
    for d in decisions:
        if d.decision == "reject":
            pairs.discard((d.odoo_id, d.ace_id))
    for d in decisions:
        if d.decision == "accept":
            pairs = {p for p in pairs if p[0] != d.odoo_id and p[1] != d.ace_id}
            pairs.add((d.odoo_id, d.ace_id))
    return pairs


def log2_odds(probability: float) -> float:
    """The match weight of a probability: log2(p / (1 - p))."""
    return math.log2(probability / (1 - probability))


def assign_one_to_one(
    pairs: Iterable[ScoredPair], min_probability: float, decisions: Iterable[Decision] = ()
) -> dict[int, int]:
    """The one-to-one pairs with the greatest total match weight, from ``min_probability`` up.

    Accepted decisions are fixed first (their deals take no other pair); rejected pairs are
    never chosen. The rest is solved per connected block of eligible pairs with the Hungarian
    algorithm (``scipy.optimize.linear_sum_assignment``), maximising the sum of each chosen
    pair's weight above the threshold's, so the result does not depend on input order.

    Returns:
        Odoo id -> ACE id of the chosen pairs.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    decided = list(decisions)
    chosen = {d.odoo_id: d.ace_id for d in decided if d.decision == "accept"}
    taken_ace = set(chosen.values())
    rejected = {(d.odoo_id, d.ace_id) for d in decided if d.decision == "reject"}
    floor = log2_odds(min_probability)
    gains: dict[Pair, float] = {}
    for p in pairs:
        pair = (p.odoo_id, p.ace_id)
        if p.probability < min_probability or pair in rejected:
            continue
        if p.odoo_id in chosen or p.ace_id in taken_ace:
            continue
        # Strictly positive, so a pair at the threshold still beats leaving both deals alone.
        gain = p.weight - floor + 1e-6
        gains[pair] = max(gains.get(pair, 0.0), gain)
    if not gains:
        return chosen
    odoo_ids = sorted({o for o, _ in gains})
    ace_ids = sorted({a for _, a in gains})
    o_index = {o: i for i, o in enumerate(odoo_ids)}
    a_index = {a: len(odoo_ids) + i for i, a in enumerate(ace_ids)}
    rows = [o_index[o] for o, _ in gains]
    cols = [a_index[a] for _, a in gains]
    size = len(odoo_ids) + len(ace_ids)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    blocks: dict[int, list[Pair]] = {}
    for pair in gains:
        blocks.setdefault(int(labels[o_index[pair[0]]]), []).append(pair)
    for block in blocks.values():
        b_odoo = sorted({o for o, _ in block})
        b_ace = sorted({a for _, a in block})
        matrix = np.zeros((len(b_odoo), len(b_ace)))
        for o, a in block:
            matrix[b_odoo.index(o), b_ace.index(a)] = gains[(o, a)]
        for i, j in zip(*linear_sum_assignment(matrix, maximize=True), strict=True):
            if matrix[i, j] > 0:
                chosen[b_odoo[i]] = b_ace[j]
    return chosen


def match_opportunities(
    conn: psycopg.Connection,
    *,
    model: str,
    settings: MatchSettings,
    run_id: str | None = None,
) -> MatchRun:
    """Block, train, score and assign; then replace ``model``'s rows of the matches table.

    Writes ``search.opportunity_matches``: each Odoo opportunity's ``top_k`` candidates by
    probability, plus every chosen, review and decided pair, each with its explanation. One
    transaction: readers see the previous run's rows or this one's, never a mix.

    Args:
        conn: A warehouse connection.
        model: The embedding model whose vectors to compare.
        settings: Blocking, thresholds and training sizes.
        run_id: The Dagster run, stored with the rows.

    Returns:
        What was found and stored.
    """
    laps = _Laps()
    odoo, ace = _records(conn, model)
    laps.lap("records")
    by_rule = _candidates(conn, model, odoo, ace, settings)
    laps.lap("blocking")
    candidate_pairs = frozenset(p for pairs in by_rule.values() for p in pairs)
    # Decisions on deals that no longer exist have nothing to apply to.
    decisions = [
        d for d in load_decisions(conn) if d.odoo_id in odoo.index and d.ace_id in ace.index
    ]
    # Decided pairs are always scored, so their explanation is shown whatever blocking found.
    to_score = candidate_pairs | {(d.odoo_id, d.ace_id) for d in decisions}
    # Imported here: the model module builds on this one's types (and imports splink).
    from aura_platform.search.linkage_model import LinkageModel

    linkage = LinkageModel(odoo, ace, settings)
    training = linkage.train()
    laps.lap("training")
    scored = linkage.score(to_score)
    laps.lap("scoring")
    matches = assign_one_to_one(scored.values(), settings.review_probability, decisions)
    review = {
        o: a for o, a in matches.items() if scored[(o, a)].probability < settings.match_probability
    }
    accepted = {(d.odoo_id, d.ace_id) for d in decisions if d.decision == "accept"}
    review = {o: a for o, a in review.items() if (o, a) not in accepted}
    matches = {o: a for o, a in matches.items() if o not in review}
    rows = _store(
        conn,
        model=model,
        run_id=run_id,
        scored=scored,
        matches=matches,
        review=review,
        decisions=decisions,
        top_k=settings.top_k,
    )
    laps.lap("assignment and storing")
    return MatchRun(
        odoo_records=len(odoo),
        ace_records=len(ace),
        candidates=len(candidate_pairs),
        candidates_by_rule={rule: len(pairs) for rule, pairs in by_rule.items()},
        candidate_pairs=candidate_pairs,
        rows=rows,
        matches=matches,
        review=review,
        scored=scored,
        parameters=linkage.parameters(),
        training=training,
        prior_weight=linkage.prior_weight,
        seconds=laps.total(),
        phases=laps.phases,
    )


def stored_matches(conn: psycopg.Connection, model: str) -> dict[int, int]:
    """The chosen matches of ``model``'s last run: Odoo id -> ACE id."""
    rows = conn.execute(
        "select odoo_opportunity_id, ace_opportunity_id from search.opportunity_matches"
        " where model = %s and is_match",
        (model,),
    ).fetchall()
    return dict(rows)


def load_decisions(conn: psycopg.Connection) -> list[Decision]:
    """Every reviewer decision, oldest first (the latest per pair is the one kept)."""
    rows = conn.execute(
        "select odoo_opportunity_id, ace_opportunity_id, decision from search.match_decisions"
        " order by decided_at, odoo_opportunity_id, ace_opportunity_id"
    ).fetchall()
    return [Decision(int(o), int(a), d) for o, a, d in rows]


def record_decision(
    conn: psycopg.Connection,
    pair: Pair,
    decision: DecisionKind,
    *,
    decided_by: str,
    note: str | None = None,
) -> None:
    """Store (or replace) a reviewer's decision on ``pair``; the next run honours it.

    Accepting a pair withdraws any earlier acceptance of another pair of either deal: a deal
    has one counterpart, and the latest word is the reviewer's current view.
    """
    odoo_id, ace_id = pair
    with conn.transaction():
        if decision == "accept":
            conn.execute(
                "delete from search.match_decisions where decision = 'accept'"
                " and (odoo_opportunity_id = %s or ace_opportunity_id = %s)"
                " and (odoo_opportunity_id, ace_opportunity_id) <> (%s, %s)",
                (odoo_id, ace_id, odoo_id, ace_id),
            )
        conn.execute(
            """
            insert into search.match_decisions (
                odoo_opportunity_id, ace_opportunity_id, decision, decided_by, note
            ) values (%s, %s, %s, %s, %s)
            on conflict (odoo_opportunity_id, ace_opportunity_id) do update set
                decision = excluded.decision, decided_by = excluded.decided_by,
                note = excluded.note, decided_at = now()
            """,
            (odoo_id, ace_id, decision, decided_by, note),
        )


class _Laps:
    """Wall time per step of a run, so a slow run says where its seconds went."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self._last, 3)
        self._last = now

    def total(self) -> float:
        return time.perf_counter() - self.started


# --- records -------------------------------------------------------------------------------


def _records(conn: psycopg.Connection, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides' deals in the compared spelling, indexed by opportunity id, with embeddings."""
    odoo_rows = conn.execute(
        """
        select opportunity_id, opportunity_id::text, coalesce(company_name, partner_name),
            domain, email, aws_account_id, payer_account_id, city, country_name,
            date_deadline, recurring_revenue_monthly
        from core.odoo_opportunities
        """
    ).fetchall()
    ace_rows = conn.execute(
        """
        select opportunity_id, partner_crm_unique_identifier, customer_company_name,
            domain, customer_email, aws_account_id, null::text, city, country,
            target_close_date, expected_monthly_aws_revenue
        from core.ace_opportunities
        """
    ).fetchall()
    vectors = _embeddings(conn, model)
    return _frame(odoo_rows, vectors[ODOO_TABLE]), _frame(ace_rows, vectors[ACE_TABLE])


def _frame(rows: list[tuple[Any, ...]], vectors: dict[str, dict[int, np.ndarray]]) -> pd.DataFrame:
    """One record per deal: every compared value cleaned, NULL where it says nothing."""
    records = []
    for opportunity_id, crm, name, website, email, account, payer, city, country, *deal in rows:
        company = normalize_company_name(name)
        words = company.split() if company else []
        contact = _clean_email(email)
        records.append(
            {
                "unique_id": int(opportunity_id),
                "crm_id": _clean_text(crm),
                "aws_account": _clean_account(account),
                "payer_account": _clean_account(payer),
                "domain": clean_domain(website) or (clean_domain(contact) if contact else None),
                "email": contact,
                "company_name": company,
                "name_compact": company.replace(" ", "") if company else None,
                "name_initials": "".join(w[0] for w in words) if len(words) > 1 else None,
                "name_words": sorted(set(words)),
                "country": normalize_company_name(country),
                "city": normalize_company_name(city),
                "close_date": deal[0],
                "revenue": None if deal[1] is None else float(deal[1]),
                **{kind: vectors[kind].get(int(opportunity_id)) for kind in EMBEDDING_TYPES},
            }
        )
    frame = pd.DataFrame.from_records(
        records,
        columns=[
            "unique_id", "crm_id", "aws_account", "payer_account", "domain", "email",
            "company_name", "name_compact", "name_initials", "name_words", "country", "city",
            "close_date", "revenue", *EMBEDDING_TYPES,
        ],
    )  # fmt: skip
    return frame.set_index("unique_id", drop=False)


def _clean_text(value: str | None) -> str | None:
    """Trimmed text; None for empty text and placeholders."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():  # an id as Odoo writes it: no need to normalise
        return text
    return None if normalize_company_name(text) is None else text


def _clean_account(value: str | None) -> str | None:
    """A 12-digit AWS account id (dashes and spaces dropped); anything else is no account."""
    digits = "".join(ch for ch in (value or "") if ch.isdigit())
    return digits if len(digits) == 12 and digits != "0" * 12 else None


def _clean_email(value: str | None) -> str | None:
    """A lower-case e-mail address; None unless it looks like one."""
    text = (value or "").strip().lower()
    local, _, domain = text.partition("@")
    return text if local and "." in domain else None


def _embeddings(
    conn: psycopg.Connection, model: str
) -> dict[str, dict[str, dict[int, np.ndarray]]]:
    """The model's unit-length vectors of both sides: table -> embedding type -> id -> vector.

    Read in pgvector's binary format: five times faster than parsing ``real[]`` text.
    """
    register_vector(conn)
    result: dict[str, dict[str, dict[int, np.ndarray]]] = {
        table: {kind: {} for kind in EMBEDDING_TYPES} for table in (ODOO_TABLE, ACE_TABLE)
    }
    with conn.cursor(binary=True) as cursor:
        rows = cursor.execute(
            "select source_table, source_id, embedding_type, embedding from search.embeddings"
            " where model = %s and source_table = any(%s) and embedding_type = any(%s)",
            (model, list(result), list(EMBEDDING_TYPES)),
        ).fetchall()
    for table, source_id, kind, vector in rows:
        array = vector.to_numpy()
        norm = float(np.linalg.norm(array))
        if norm > 0:
            result[table][kind][int(source_id)] = array / norm
    return result


# --- blocking ------------------------------------------------------------------------------


def _candidates(
    conn: psycopg.Connection,
    model: str,
    odoo: pd.DataFrame,
    ace: pd.DataFrame,
    settings: MatchSettings,
) -> dict[str, set[Pair]]:
    """The pairs each blocking rule proposes (``BLOCKING_RULES``)."""
    rules: dict[str, set[Pair]] = {
        "crm_id": _equal(odoo, "crm_id", ace, "crm_id"),
        "aws_account": _equal(odoo, "aws_account", ace, "aws_account"),
        "payer_account": _equal(odoo, "payer_account", ace, "aws_account"),
        "domain": _equal(odoo, "domain", ace, "domain"),
        "email": _equal(odoo, "email", ace, "email"),
        "name_word": _shared_words(odoo, ace, settings.max_block_pairs),
    }
    if len(odoo) * len(ace) <= EXACT_KNN_MAX_PAIRS:
        rules.update(_nearest_exact(odoo, ace, settings.top_k))
    else:
        rules.update(_nearest_indexed(conn, model, settings))
    return rules


def _equal(left: pd.DataFrame, left_col: str, right: pd.DataFrame, right_col: str) -> set[Pair]:
    """Pairs whose values agree exactly (NULL agrees with nothing)."""
    lhs = left[["unique_id", left_col]].dropna().rename(columns={left_col: "key"})
    rhs = right[["unique_id", right_col]].dropna().rename(columns={right_col: "key"})
    joined = lhs.merge(rhs, on="key", suffixes=("_o", "_a"))
    return set(
        zip(joined["unique_id_o"].astype(int), joined["unique_id_a"].astype(int), strict=True)
    )


def _shared_words(odoo: pd.DataFrame, ace: pd.DataFrame, max_pairs: int) -> set[Pair]:
    """Pairs whose normalised company names share a word, skipping words in too many pairs.

    A typo or a transliteration rarely touches every word, so one shared word is enough to be
    compared; "cloud" or "solutions" join too many deals to tell anything and are skipped.
    """
    lhs = odoo[["unique_id", "name_words"]].explode("name_words").dropna()
    rhs = ace[["unique_id", "name_words"]].explode("name_words").dropna()
    sizes = lhs["name_words"].value_counts() * rhs["name_words"].value_counts()
    usable = set(sizes[sizes <= max_pairs].index)
    joined = lhs[lhs["name_words"].isin(usable)].merge(
        rhs[rhs["name_words"].isin(usable)], on="name_words", suffixes=("_o", "_a")
    )
    return set(
        zip(joined["unique_id_o"].astype(int), joined["unique_id_a"].astype(int), strict=True)
    )


def _nearest_exact(odoo: pd.DataFrame, ace: pd.DataFrame, k: int) -> dict[str, set[Pair]]:
    """The ``k`` nearest deals of the other side by each embedding type, in both directions.

    Exact: one matrix of every cross pair's cosine similarity (dot products of the unit vectors
    already read), its ``k`` best per row and per column. Up to ``EXACT_KNN_MAX_PAIRS`` this is
    far cheaper than one HNSW query per deal, and it never misses a neighbour. Ids are sorted, so
    ties are broken the same way on every run.
    """
    result: dict[str, set[Pair]] = {}
    for kind in EMBEDDING_TYPES:
        odoo_ids, odoo_vectors = _vectors(odoo, kind)
        ace_ids, ace_vectors = _vectors(ace, kind)
        pairs: set[Pair] = set()
        if len(odoo_ids) and len(ace_ids) and odoo_vectors.shape[1] == ace_vectors.shape[1]:
            similarity = odoo_vectors @ ace_vectors.T
            o, a = _best_per_row(similarity, k)  # each Odoo deal's nearest ACE deals
            pairs |= set(zip(odoo_ids[o].tolist(), ace_ids[a].tolist(), strict=True))
            a, o = _best_per_row(similarity.T, k)  # and each ACE deal's nearest Odoo deals
            pairs |= set(zip(odoo_ids[o].tolist(), ace_ids[a].tolist(), strict=True))
        result[f"knn_{kind}"] = pairs
    return result


def _best_per_row(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of each row's ``k`` greatest values (all of a shorter row)."""
    k = min(k, matrix.shape[1])
    columns = np.argpartition(-matrix, k - 1, axis=1)[:, :k]
    return np.repeat(np.arange(matrix.shape[0]), k), columns.ravel()


def _vectors(frame: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The ids (ascending) and stacked vectors of the deals that have a ``kind`` embedding."""
    present = frame[kind].dropna().sort_index()
    ids = present.index.to_numpy(dtype=np.int64)
    if not len(ids):
        return ids, np.empty((0, 0), dtype=np.float32)
    return ids, np.stack(present.to_list()).astype(np.float32, copy=False)


def _nearest_indexed(
    conn: psycopg.Connection, model: str, settings: MatchSettings
) -> dict[str, set[Pair]]:
    """The ``top_k`` nearest deals of the other side by each embedding type, in both directions.

    One LATERAL k-NN per row on the model's HNSW index; the model and the vector type are
    literals, as in ``vector_store.nearest``, so the planner can use the partial index.
    """
    dimensions = _dimensions(conn, model)
    result: dict[str, set[Pair]] = {f"knn_{kind}": set() for kind in EMBEDDING_TYPES}
    with conn.transaction():
        set_knn_search(conn, ef_search=settings.ef_search)
        for source, target, odoo_first in (
            (ODOO_TABLE, ACE_TABLE, True),
            (ACE_TABLE, ODOO_TABLE, False),
        ):
            rows = conn.execute(
                sql.SQL(
                    """
                    select q.embedding_type, q.source_id::bigint, n.source_id::bigint
                    from search.embeddings as q
                    cross join lateral (
                        select e.source_id
                        from search.embeddings as e
                        where e.model = {model} and e.source_table = {target}
                            and e.embedding_type = q.embedding_type
                        order by e.embedding::{cast} <=> q.embedding::{cast}
                        limit %(k)s
                    ) as n
                    where q.model = {model} and q.source_table = {source}
                        and q.embedding_type = any(%(kinds)s)
                    """
                ).format(
                    model=sql.Literal(model),
                    target=sql.Literal(target),
                    source=sql.Literal(source),
                    cast=vector_type(dimensions),
                ),
                {"k": settings.top_k, "kinds": list(EMBEDDING_TYPES)},
            ).fetchall()
            for kind, query_id, neighbour_id in rows:
                pair = (query_id, neighbour_id) if odoo_first else (neighbour_id, query_id)
                result[f"knn_{kind}"].add((int(pair[0]), int(pair[1])))
    return result


def _dimensions(conn: psycopg.Connection, model: str) -> int:
    """The model's stored vector size; with nothing stored, any size does: no row is cast."""
    row = conn.execute(
        "select max(dimensions) from search.embeddings where model = %s and source_table = any(%s)",
        (model, [ODOO_TABLE, ACE_TABLE]),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 1


# --- storage -------------------------------------------------------------------------------


def _store(
    conn: psycopg.Connection,
    *,
    model: str,
    run_id: str | None,
    scored: Mapping[Pair, ScoredPair],
    matches: Mapping[int, int],
    review: Mapping[int, int],
    decisions: Iterable[Decision],
    top_k: int,
) -> int:
    """Replace ``model``'s rows: top candidates, chosen, review and decided pairs, explained."""
    decided = {(d.odoo_id, d.ace_id): d.decision for d in decisions}
    chosen = set(matches.items())
    waiting = set(review.items())
    by_odoo: dict[int, list[ScoredPair]] = {}
    for p in scored.values():
        by_odoo.setdefault(p.odoo_id, []).append(p)
    rows = []
    for odoo_id, candidates in by_odoo.items():
        ranked = sorted(candidates, key=lambda p: (-p.weight, p.ace_id))
        for rank, p in enumerate(ranked, start=1):
            pair = (p.odoo_id, p.ace_id)
            status = _status(pair, chosen, waiting, decided)
            if rank > top_k and status == "candidate":
                continue
            rows.append(
                (
                    model,
                    odoo_id,
                    p.ace_id,
                    rank,
                    p.probability,
                    p.weight,
                    Jsonb(p.contributions),
                    Jsonb(p.levels),
                    status,
                    pair in chosen,
                    run_id,
                )
            )
    with conn.transaction():
        conn.execute("delete from search.opportunity_matches where model = %s", (model,))
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "copy search.opportunity_matches (model, odoo_opportunity_id, ace_opportunity_id,"
                " rank, score, match_weight, components, levels, status, is_match, dagster_run_id)"
                " from stdin"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    return len(rows)


def _status(
    pair: Pair, chosen: set[Pair], waiting: set[Pair], decided: Mapping[Pair, DecisionKind]
) -> Status:
    """What a stored pair is: a reviewer's decision first, then the model's verdict."""
    if decided.get(pair) == "accept":
        return "accepted"
    if decided.get(pair) == "reject":
        return "rejected"
    if pair in chosen:
        return "match"
    if pair in waiting:
        return "review"
    return "candidate"


@dataclass(frozen=True)
class StoredPair:
    """One row of ``search.opportunity_matches``, as ``aura match`` shows it."""

    odoo_id: int
    ace_id: int
    rank: int
    probability: float
    weight: float | None
    status: str
    contributions: dict[str, float]
    levels: dict[str, str]


def stored_pairs(
    conn: psycopg.Connection,
    model: str,
    *,
    odoo_id: int | None = None,
    ace_id: int | None = None,
    status: str | None = None,
) -> list[StoredPair]:
    """The stored pairs of ``model`` involving these deals or with this status, best first."""
    rows = conn.execute(
        """
        select odoo_opportunity_id, ace_opportunity_id, rank, score, match_weight, status,
            components, levels
        from search.opportunity_matches
        where model = %(model)s
            and (%(odoo)s::bigint is null or odoo_opportunity_id = %(odoo)s)
            and (%(ace)s::bigint is null or ace_opportunity_id = %(ace)s)
            and (%(status)s::text is null or status = %(status)s)
        order by odoo_opportunity_id, score desc, ace_opportunity_id
        """,
        {"model": model, "odoo": odoo_id, "ace": ace_id, "status": status},
    ).fetchall()
    return [StoredPair(*row) for row in rows]
