"""Opportunity matching's pure parts: names, one-to-one choice, metrics, configuration."""

import random
from pathlib import Path

import pytest

from aura_demo import perturb
from aura_platform.config.loader import ConfigError, load_embeddings, load_matching
from aura_platform.defs.search.checks import recall_outcome
from aura_platform.search.entity_names import clean_domain, normalize_company_name
from aura_platform.search.matching import (
    ACE_TABLE,
    ODOO_TABLE,
    Decision,
    ScoredPair,
    assign_one_to_one,
    candidate_recall,
    evaluate,
    log2_odds,
    truth_with_decisions,
)
from aura_platform.settings import Settings


def _pair(odoo: int, ace: int, probability: float) -> ScoredPair:
    return ScoredPair(odoo, ace, probability, log2_odds(probability))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Çelik Yazilim A.Ş.", "CELIK YAZILIM"),
        ("The Foxglove Foods & Co.", "Foxglove Foods and Co"),
        ("Müller Systemtechnik GmbH", "Muller Systemtechnik Gesellschaft mit beschränkter Haftung"),
        ("Bianchi Dati S.r.l.", "Bianchi Dati Società a responsabilità limitata"),
        ("Kestrel Mobility, Inc.", "KESTREL MOBILITY INCORPORATED"),
        ("Huaxing Cloud 有限公司", "HUAXING CLOUD"),
    ],
)
def test_spellings_of_one_company_normalise_alike(one: str, other: str) -> None:
    assert normalize_company_name(one) == normalize_company_name(other)


def test_other_scripts_are_transliterated_to_ascii_words() -> None:
    assert normalize_company_name("Москва Софт") == "moskva soft"
    assert normalize_company_name("华星") == "huaxing"


@pytest.mark.parametrize(
    "junk", ["N/A", "none", "-", "", "https://www.linkedin.com/company/acme", "gmail.com", "acme"]
)
def test_placeholders_and_shared_hosts_are_no_domain(junk: str) -> None:
    assert clean_domain(junk) is None


def test_a_website_or_address_becomes_its_host() -> None:
    assert clean_domain("https://www.Acme.co.uk/about-us") == "acme.co.uk"
    assert clean_domain("jane.doe@acme.de") == "acme.de"


def test_the_assignment_maximises_the_total_not_the_first_pick() -> None:
    # Greedy would take (1, 10) first and leave Odoo 2 with nothing; the optimum takes both.
    pairs = [_pair(1, 10, 0.99), _pair(1, 11, 0.98), _pair(2, 10, 0.985)]
    assert assign_one_to_one(pairs, 0.6) == {1: 11, 2: 10}


def test_the_assignment_does_not_depend_on_input_order() -> None:
    pairs = [_pair(1, 10, 0.9), _pair(2, 10, 0.9), _pair(1, 11, 0.7), _pair(3, 12, 0.95)]
    assert assign_one_to_one(pairs, 0.6) == assign_one_to_one(pairs[::-1], 0.6)


def test_pairs_below_the_threshold_are_never_chosen() -> None:
    assert assign_one_to_one([_pair(1, 10, 0.59), _pair(2, 11, 0.61)], 0.6) == {2: 11}


def test_decisions_win_over_the_model() -> None:
    pairs = [_pair(1, 10, 0.99), _pair(2, 11, 0.99), _pair(2, 12, 0.7)]
    decisions = [Decision(1, 13, "accept"), Decision(2, 11, "reject")]
    assert assign_one_to_one(pairs, 0.6, decisions) == {1: 13, 2: 12}


def test_accepted_pairs_join_the_truth_and_rejected_ones_leave_it() -> None:
    truth = {(1, 10), (2, 11), (3, 12)}
    decisions = [Decision(1, 13, "accept"), Decision(2, 11, "reject")]
    assert truth_with_decisions(truth, decisions) == {(1, 13), (3, 12)}


def test_precision_counts_every_match_and_recall_every_true_pair() -> None:
    truth = [(1, 10), (2, 11), (3, 12), (4, 13)]
    matches = {1: 10, 2: 12, 3: 12, 5: 14}  # right, wrong, right, no true pair at all
    quality = evaluate(matches, truth)
    assert (quality.pairs, quality.matched, quality.correct) == (4, 4, 2)
    assert quality.precision == 0.5
    assert quality.recall == 0.5
    assert candidate_recall({(1, 10), (2, 99)}, truth) == 0.25


def test_metrics_without_a_denominator_are_unknown_not_zero() -> None:
    assert evaluate({}, [(1, 10)]).precision is None
    assert evaluate({1: 10}, []).recall is None
    assert candidate_recall({(1, 10)}, []) is None


def test_every_perturbation_changes_the_name_but_missing() -> None:
    rng = random.Random(3)
    for kind in perturb.PERTURBATIONS:
        name = perturb.company_name(rng, kind, "Blue River Analytics", "Inc.")
        assert (name == "Blue River Analytics Inc.") == (kind == "missing"), kind


def test_the_shipped_configuration_abstains_above_review_and_embeds_both_sides() -> None:
    matching = load_matching()
    assert 0.5 < matching.review_probability <= matching.match_probability < 1
    embedded = {t.source: t for t in load_embeddings().tables.values()}
    for table in (ODOO_TABLE, ACE_TABLE):
        assert set(embedded[table].texts) == {"identity", "context"}


def test_a_review_threshold_above_the_match_threshold_is_refused(tmp_path: Path) -> None:
    (tmp_path / "matching.yaml").write_text(
        "top_k: 5\nmatch_probability: 0.8\nreview_probability: 0.9\n"
    )
    with pytest.raises(ConfigError, match=r"matching\.yaml.*review_probability"):
        load_matching.__wrapped__(tmp_path)


def test_a_probability_outside_zero_and_one_is_refused_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "matching.yaml").write_text(
        "top_k: 5\nmatch_probability: 1.5\nreview_probability: 0.6\n"
    )
    with pytest.raises(ConfigError, match=r"match_probability"):
        load_matching.__wrapped__(tmp_path)


def test_without_ground_truth_the_recall_check_says_it_measured_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env({"AURA_DATA_DIR": str(tmp_path), "AURA_HOME": str(tmp_path)})
    outcome = recall_outcome("postgresql://unused", settings, min_recall=0.9)
    assert not outcome.applicable
    assert outcome.records_checked == 0
    assert outcome.description.startswith("not applicable: no ground truth")
