"""The Fellegi-Sunter model behind opportunity matching, built and trained with splink on DuckDB.

Each comparison has levels from most to least alike; a level's match weight is log2(m / u),
where m is how often true pairs fall in it and u how often random pairs do. u comes from random
record pairs; m starts from the prior values below (what an analyst would guess, so a tiny
warehouse still gets a sensible model) and is then estimated by expectation maximisation on
this run's data: first on pairs where ACE names the Odoo id (the exact-id training signal,
nearly all true), then on pairs sharing an AWS account, then a domain. Exact name and domain
agreements are term-frequency adjusted: a common name or a shared host proves less. A missing
value on either side is a null level (weight 0); a disagreement is a level of its own, so it
counts against the pair.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from aura_platform.search.matching import (
    COMPARISONS,
    EMBEDDING_TYPES,
    MIN_EM_PAIRS,
    MatchSettings,
    Pair,
    ScoredPair,
)

log = logging.getLogger(__name__)

_RARE = 1e-4  # prior u of an agreement level (see ``_level``)
_SEPARATOR = "-__-"  # splink's separator of source dataset and id in a composite key
# Columns the model reads; the ``name_words`` list is for blocking only.
_COLUMNS = (
    "unique_id", "crm_id", "aws_account", "payer_account", "domain", "email", "company_name",
    "name_compact", "name_initials", "country", "city",
)  # fmt: skip


def _exact(name: str, label: str, m_agree: float, *, tf: bool = False) -> dict[str, Any]:
    """A comparison with three levels: either side missing, equal, anything else."""
    return {
        "output_column_name": name,
        "comparison_levels": [
            _null(f'"{name}_l" is null or "{name}_r" is null'),
            {
                "sql_condition": f'"{name}_l" = "{name}_r"',
                "label_for_charts": f"same {label}",
                "m_probability": m_agree,
                **({"tf_adjustment_column": name, "tf_adjustment_weight": 1.0} if tf else {}),
            },
            _else(1 - m_agree),
        ],
    }


def _null(condition: str) -> dict[str, Any]:
    return {"sql_condition": condition, "label_for_charts": "missing", "is_null_level": True}


def _else(m: float) -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": m}


def _cosine(name: str, thresholds: tuple[float, ...], m: tuple[float, ...]) -> dict[str, Any]:
    """Cosine similarity of unit vectors (a dot product) at decreasing thresholds."""
    similarity = f'list_dot_product("{name}_l", "{name}_r")'
    return {
        "output_column_name": name,
        "comparison_levels": [
            _null(f'"{name}_l" is null or "{name}_r" is null'),
            *(
                {
                    "sql_condition": f"{similarity} >= {t}",
                    "label_for_charts": f"cosine >= {t}",
                    "m_probability": p,
                }
                for t, p in zip(thresholds, m[: len(thresholds)], strict=True)
            ),
            _else(m[len(thresholds)]),
        ],
    }


def comparisons() -> list[dict[str, Any]]:
    """Every comparison of ``COMPARISONS``, as splink comparison dictionaries.

    Name, domain and identity embedding all say "same customer": counted as independent they
    would add up to near certainty for any two deals of one customer. They are therefore the
    levels of one ``customer`` comparison, and what tells one deal of a customer from another
    (context, close date, amount) are comparisons of their own.
    """
    name_equal = '"company_name_l" = "company_name_r"'
    domain_equal = '"domain_l" = "domain_r"'
    domain_conflict = f'("domain_l" is not null and "domain_r" is not null and not {domain_equal})'
    jaro = 'jaro_winkler_similarity("company_name_l", "company_name_r")'
    identity = 'list_dot_product("identity_l", "identity_r")'
    nearly = (
        f'({jaro} >= 0.92 or "name_compact_l" = "name_compact_r"'
        ' or "name_initials_l" = "company_name_r" or "company_name_l" = "name_initials_r")'
    )
    days = 'abs(date_diff(\'day\', "close_date_l", "close_date_r"))'
    ratio = 'greatest("revenue_l", "revenue_r") / least("revenue_l", "revenue_r")'
    result = [
        _exact("crm_id", "Odoo id", 0.5),
        {
            "output_column_name": "aws_account",
            "comparison_levels": [
                _level('"aws_account_l" = "aws_account_r"', "same account", 0.5),
                _level(
                    '"payer_account_l" = "aws_account_r" or "aws_account_l" = "payer_account_r"',
                    "same organisation (payer account)",
                    0.1,
                ),
                _null('"aws_account_l" is null or "aws_account_r" is null'),
                _else(0.4),
            ],
        },
        {
            "output_column_name": "customer",
            "comparison_levels": [
                _null(
                    '("company_name_l" is null or "company_name_r" is null)'
                    ' and ("domain_l" is null or "domain_r" is null)'
                ),
                _level(
                    f"{name_equal} and {domain_equal}",
                    "same name and domain",
                    0.45,
                    tf="company_name",
                ),
                _level(domain_equal, "same domain", 0.2, tf="domain"),
                _level('"email_l" = "email_r"', "same contact e-mail", 0.05),
                _level(
                    f"{name_equal} and not {domain_conflict}", "same name", 0.1, tf="company_name"
                ),
                _level(name_equal, "same name, other domain", 0.01),
                _level(f"{nearly} and not {domain_conflict}", "nearly the same name", 0.12),
                _level(f"{identity} >= 0.9 and not {domain_conflict}", "alike by embedding", 0.05),
                _level(f"{jaro} >= 0.8 or {identity} >= 0.75", "somewhat alike", 0.05),
                _else(0.02),
            ],
        },
        _exact("country", "country", 0.95),
        _exact("city", "city", 0.9),
        _cosine("context", (0.9, 0.75, 0.6), (0.6, 0.25, 0.1, 0.05)),
        {
            "output_column_name": "close_date",
            "comparison_levels": [
                _null('"close_date_l" is null or "close_date_r" is null'),
                _level(f"{days} <= 15", "within 15 days", 0.8),
                _level(f"{days} <= 60", "within 60 days", 0.1),
                _else(0.1),
            ],
        },
        {
            "output_column_name": "revenue",
            "comparison_levels": [
                _null('coalesce("revenue_l", 0) <= 0 or coalesce("revenue_r", 0) <= 0'),
                _level(f"{ratio} <= 1.01", "same amount", 0.6),
                _level(f"{ratio} <= 1.25", "within 25%", 0.3),
                _else(0.1),
            ],
        },
    ]
    assert tuple(c["output_column_name"] for c in result) == COMPARISONS
    return result


def _level(condition: str, label: str, m: float, *, tf: str | None = None) -> dict[str, Any]:
    """One agreement level with its prior m; ``tf`` names a term-frequency adjusted column.

    Its prior u (``_RARE``) stands where random sampling never saw the level: an agreement
    no random pair showed is rare, not impossible, and must not weigh infinitely.
    """
    level: dict[str, Any] = {
        "sql_condition": condition,
        "label_for_charts": label,
        "m_probability": m,
        "u_probability": _RARE,
    }
    if tf:
        level.update(tf_adjustment_column=tf, tf_adjustment_weight=1.0)
    return level


class LinkageModel:
    """A splink linker over one run's records: train it, then score the candidate pairs."""

    def __init__(self, odoo: pd.DataFrame, ace: pd.DataFrame, settings: MatchSettings) -> None:
        from splink import DuckDBAPI, Linker

        self._settings = settings
        self._odoo, self._ace = odoo, ace
        self._con = duckdb.connect()
        self._con.execute("set threads = 2").fetchall()
        self._con.register("odoo_input", _arrow(odoo))
        self._con.register("ace_input", _arrow(ace))
        self._con.execute("create table odoo as select * from odoo_input").fetchall()
        self._con.execute("create table ace as select * from ace_input").fetchall()
        self._db = DuckDBAPI(connection=self._con)
        smaller, larger = sorted((max(len(odoo), 1), max(len(ace), 1)))
        prior = min(0.99, settings.prior_match_share * smaller / (smaller * larger))
        self.prior_weight = math.log2(prior / (1 - prior))
        self._linker = Linker(
            [
                self._db.register("odoo", dataset_display_name="odoo"),
                self._db.register("ace", dataset_display_name="ace"),
            ],
            {
                "link_type": "link_only",
                "unique_id_column_name": "unique_id",
                "probability_two_random_records_match": prior,
                "comparisons": comparisons(),
                "blocking_rules_to_generate_predictions": [],
                "retain_intermediate_calculation_columns": True,
                "retain_matching_columns": False,
                "additional_columns_to_retain": [],
            },
            log_level=None,
        )

    def train(self) -> dict[str, str]:
        """Estimate u from random pairs, then m by EM on the exact-id, account and domain blocks.

        Returns what each step did: "ran", or why it was skipped (too few pairs to estimate
        anything, or splink's error), so the asset can say how the model was trained.
        """
        from splink import block_on

        steps: dict[str, str] = {}
        total = len(self._odoo) * len(self._ace)
        try:
            # One pass over the whole sample per comparison: splink's default probes a chunk
            # and then runs ten more, each its own query, until every level has been seen 100
            # times, which rare agreement levels never are; here that was 48 queries.
            self._linker.training.estimate_u_using_random_sampling(
                max_pairs=float(min(total, self._settings.u_sample_pairs)),
                seed=42,
                min_count_per_level=None,
                num_chunks=1,
            )
            steps["u_random_sampling"] = "ran"
        except Exception as exc:  # a model with prior u still scores; say why it has no data u
            steps["u_random_sampling"] = f"skipped: {type(exc).__name__}: {exc}"
        for column in ("crm_id", "aws_account", "domain"):
            pairs = self._blocked_pairs(column)
            step = f"em_on_{column}"
            if (
                "ran" in steps.values()
                and column != "crm_id"
                and steps.get("em_on_crm_id") == "ran"
            ):
                # Pairs sharing an account or a domain are as often another deal of the same
                # customer as the same deal: EM there learns "same customer", not "same deal".
                steps[step] = "skipped: m already estimated on the exact-id pairs"
                continue
            if pairs < MIN_EM_PAIRS:
                steps[step] = f"skipped: {pairs} pairs (< {MIN_EM_PAIRS})"
                continue
            try:
                self._linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(column),
                    fix_probability_two_random_records_match=True,
                    record_sample_proportion=1.0,
                )
                steps[step] = "ran"
            except Exception as exc:  # keep the previous estimates rather than fail the run
                log.warning("EM on %s failed: %s", column, exc)
                steps[step] = f"skipped: {type(exc).__name__}: {exc}"
        return steps

    def score(self, pairs: frozenset[Pair]) -> dict[Pair, ScoredPair]:
        """Score exactly ``pairs`` (blocking already happened) and explain each score."""
        if not pairs:
            return {}
        frame = pd.DataFrame(
            {
                "match_key": "0",
                "join_key_l": [f"ace{_SEPARATOR}{a}" for _, a in pairs],
                "join_key_r": [f"odoo{_SEPARATOR}{o}" for o, _ in pairs],
            }
        )
        blocked = self._db.register(frame, table_name="aura_candidate_pairs")
        self._linker.table_management.register_blocked_pairs_for_predict(blocked)
        predictions = self._linker.inference.predict(warning_mode="never").as_pandas_dataframe()
        levels_by_weight = self._levels_by_weight()
        # Column by column rather than row by row: 20,000 pairs x 8 comparisons as Python
        # objects cost more than splink's prediction itself.
        contributions, levels = {}, {}
        for name in COMPARISONS:
            level_weights = predictions[f"mw_{name}"].to_numpy(dtype=float)
            tf_column = f"mw_tf_adj_{name}"
            tf_weights = (
                predictions[tf_column].fillna(0.0).to_numpy(dtype=float)
                if tf_column in predictions
                else 0.0
            )
            contributions[name] = np.round(level_weights + tf_weights, 4).tolist()
            levels[name] = _nearest_labels(levels_by_weight[name], level_weights)
        result: dict[Pair, ScoredPair] = {}
        for i, (ace_id, odoo_id, probability, weight) in enumerate(
            zip(
                predictions["unique_id_l"].astype("int64").tolist(),
                predictions["unique_id_r"].astype("int64").tolist(),
                predictions["match_probability"].astype(float).tolist(),
                predictions["match_weight"].astype(float).tolist(),
                strict=True,
            )
        ):
            result[(odoo_id, ace_id)] = ScoredPair(
                odoo_id,
                ace_id,
                probability,
                weight,
                {name: contributions[name][i] for name in COMPARISONS},
                {name: levels[name][i] for name in COMPARISONS},
            )
        return result

    def parameters(self) -> dict[str, dict[str, float]]:
        """Each comparison level's trained match weight, log2(m / u); null levels left out."""
        model = self._linker.misc.save_model_to_json()
        result: dict[str, dict[str, float]] = {}
        for comparison in model["comparisons"]:
            weights = {}
            for level in comparison["comparison_levels"]:
                m, u = level.get("m_probability"), level.get("u_probability")
                if level.get("is_null_level") or not m or not u:
                    continue
                weights[level["label_for_charts"]] = round(math.log2(m / u), 3)
            result[comparison["output_column_name"]] = weights
        return result

    def _levels_by_weight(self) -> dict[str, list[tuple[float, str]]]:
        """Comparison -> (match weight, label) of each level, the null level at weight 0.

        splink's predictions carry each comparison's weight, not its level: the level is the
        one whose trained weight it is (the term-frequency part is reported apart).
        """
        model = self._linker.misc.save_model_to_json()
        result: dict[str, list[tuple[float, str]]] = {}
        for comparison in model["comparisons"]:
            levels = [(0.0, "missing")]
            for level in comparison["comparison_levels"]:
                m, u = level.get("m_probability"), level.get("u_probability")
                if not level.get("is_null_level") and m and u:
                    levels.append((math.log2(m / u), level["label_for_charts"]))
            result[comparison["output_column_name"]] = levels
        return result

    def _blocked_pairs(self, column: str) -> int:
        """How many cross pairs agree exactly on ``column`` (the EM block's size)."""
        # Counted from the frames (values agreeing on both sides, NULLs never agree), so no SQL
        # has to be built around a column name.
        odoo = self._odoo[column].dropna().value_counts()
        ace = self._ace[column].dropna().value_counts()
        return int((odoo * ace.reindex(odoo.index, fill_value=0)).sum())


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The records as Arrow: strings, and embeddings as float lists (NULL where none)."""
    columns: dict[str, pa.Array] = {
        "unique_id": pa.array(frame["unique_id"].astype("int64").to_numpy()),
        **{c: pa.array([_text(v) for v in frame[c]], type=pa.string()) for c in _COLUMNS[1:]},
    }
    columns["close_date"] = pa.array(
        [d if isinstance(d, date) else None for d in frame["close_date"]], type=pa.date32()
    )
    columns["revenue"] = pa.array(
        [float(v) if v is not None and v == v else None for v in frame["revenue"]],
        type=pa.float64(),
    )
    for kind in EMBEDDING_TYPES:
        columns[kind] = _vector_lists(frame[kind].to_list())
    return pa.table(columns)


def _vector_lists(vectors: list[np.ndarray | None]) -> pa.ListArray:
    """Vectors as one Arrow list array (NULL where none), built from one buffer, not per row."""
    missing = np.array([v is None for v in vectors], dtype=bool)
    lengths = np.array([0 if v is None else len(v) for v in vectors], dtype=np.int32)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    present = [v for v in vectors if v is not None]
    values = np.concatenate(present).astype(np.float32) if present else np.empty(0, np.float32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), mask=pa.array(missing))


def _nearest_labels(levels: list[tuple[float, str]], weights: np.ndarray) -> list[str]:
    """For each weight, the label of the level whose weight it is (the closest, against
    rounding; the first of equal ones)."""
    level_weights = np.array([weight for weight, _ in levels])
    nearest = np.abs(weights[:, None] - level_weights[None, :]).argmin(axis=1)
    labels = [label for _, label in levels]
    return [labels[i] for i in nearest.tolist()]


def _text(value: object) -> str | None:
    """A string, or None for pandas' missing markers (None or NaN, by dtype)."""
    return value if isinstance(value, str) else None
