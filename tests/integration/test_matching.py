"""Opportunity matching on the real warehouse with the real bundled model, on a small fixture.

The fixture is a database of its own holding just the core columns matching reads, so it never
touches the core tables other test modules build with dbt. Texts are built and embedded exactly as
the embedding assets do, from ``assets_config/embeddings.yaml``. Besides the cases under test it
holds unrelated deals of other companies on both sides, as every real warehouse does, so that the
model's u probabilities (how often random pairs agree) are estimated from something.
"""

import itertools
import random
from collections.abc import Iterator

import psycopg
import pytest

from aura_demo import names
from aura_platform.cli import main as cli
from aura_platform.config.loader import load_embeddings, load_matching
from aura_platform.defs.search.assets import match_settings, texts_query
from aura_platform.search import matching
from aura_platform.search.embedding import DEFAULT_MODEL, load_embedder
from aura_platform.search.matching import (
    MatchRun,
    match_opportunities,
    record_decision,
    stored_matches,
    stored_pairs,
)
from aura_platform.search.vector_store import ensure_hnsw_index, sync_embeddings
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect, drop_database, ensure_database
from aura_platform.warehouse.migrate import apply_migrations

pytestmark = pytest.mark.integration

DATABASE = "matching_fixture"

# (id, opportunity name, company, website, e-mail, AWS account, payer account, city, country,
#  description)
ODOO = [
    (1, "Security Baseline", "Granite Media Inc.", "https://granitemedia.com",
     "ann@granitemedia.com", None, None, "Denver", "United States",
     "Roll out a multi-account landing zone with Control Tower and GuardDuty."),
    (2, "Data Lake Migration", "Kestrel Mobility Co.", "https://www.kestrelmobility.com", None,
     "403960896613", None, "Austin", "United States",
     "Move the on-premises Hadoop cluster and nightly ETL jobs to an S3 data lake."),
    (3, "Kestrel Mobility: Backup and DR", "Kestrel Mobility Co.",
     "https://www.kestrelmobility.com", None, "403960896613", None, "Austin", "United States",
     "Replace tape backups with AWS Backup and set up pilot-light disaster recovery."),
    (4, "IoT Telemetry Platform", "Riverbend Manufacturing Inc.", "http://riverbend.com", None,
     None, None, "Detroit", "United States",
     "Collect sensor telemetry from the factory floor with IoT Core for predictive maintenance."),
    (5, "Contact Center Modernization", "Foxglove Foods Inc.", "https://foxglovefoods.com", None,
     None, None, "Chicago", "United States",
     "Replace the legacy call centre with Amazon Connect and Lex."),
    (6, "Veri Ambari Modernizasyonu", "Öztürk Çelik Sanayi A.Ş.", "https://ozturkcelik.com.tr",
     "mehmet@ozturkcelik.com.tr", None, None, "Istanbul", "Turkey",
     "Move the Oracle data warehouse to Amazon Redshift and rebuild the nightly reports."),
    (7, "Cloud Cost Optimisation", "华星云计算有限公司", "https://www.huaxingcloud.cn", None,
     None, "518273645091", "Shanghai", "China",
     "Rightsize EC2 fleets and buy Savings Plans to cut the monthly AWS bill by a third."),
    (8, "Analytics Platform", "Golden Gate Analytics Inc.", "https://goldengate-analytics.com",
     "kim@goldengate-analytics.com", None, None, "San Francisco", "United States",
     "Build a QuickSight dashboard layer over the sales data in Redshift."),
]  # fmt: skip
# (id, partner CRM id, company, website, e-mail, AWS account, city, country, title, description,
#  use case)
ACE = [
    (101, "1", "GRANITE MEDIA INC", "granitemedia.com", None, None, "Denver", "United States",
     "Granite Media Security Baseline",
     "Roll out a multi-account landing zone with Control Tower and GuardDuty.",
     "Security & Compliance"),
    (102, None, "Kestrel Mobility Company", "kestrelmobility.com", None, "403960896613", "Austin",
     "United States", "Data Lake Migration",
     "Move the on-premises Hadoop cluster and nightly ETL jobs to an S3 data lake.",
     "Big Data: Data Lake"),
    (103, None, "Kestrel Moiblity Co.", "www.kestrelmobility.com/", None, "403960896613",
     "Austin", "United States", "Backup and DR",
     "Replace tape backups with AWS Backup and set up pilot-light disaster recovery.",
     "Storage & Backup"),
    (104, None, "The Riverbend Manufacturing", None, None, None, "Detroit", "United States",
     "IoT Telemetry Platform",
     "Collect sensor telemetry from the factory floor with IoT Core for predictive maintenance.",
     "IOT"),
    (105, None, "Bluewater Shipping GmbH", "bluewater.de", None, "998877665544", "Hamburg",
     "Germany", "SAP on AWS",
     "Re-host SAP ECC and plan the S/4HANA move on EC2 high-memory instances.",
     "Business Applications"),
    # No accents, and a placeholder website: N/A must be missing, not a disagreement.
    (106, None, "OZTURK CELIK SANAYI", "N/A", None, None, "Istanbul", "Turkey",
     "Data warehouse modernisation",
     "Move the Oracle data warehouse to Amazon Redshift and rebuild the nightly reports.",
     "Analytics"),
    # Another script, and the payer account of Odoo 7's organisation.
    (107, None, "HUAXING CLOUD COMPUTING", "huaxingcloud.cn", None, "518273645091", "Shanghai",
     "China", "Cost optimisation",
     "Rightsize EC2 fleets and buy Savings Plans to cut the monthly AWS bill by a third.",
     "Cost Optimization"),
    # Another company of the same name, in another country with another domain and another deal.
    (108, None, "Golden Gate Analytics SARL", "goldengate-analytics.fr", None, None, "Paris",
     "France", "Migration to AWS",
     "Lift and shift the ERP servers from the Paris co-location site to EC2.", "Migration"),
]  # fmt: skip
EXPECTED = {1: 101, 2: 102, 3: 103, 4: 104, 6: 106, 7: 107}
FILLERS = 30  # unrelated deals per side


def _fillers() -> tuple[list[tuple], list[tuple]]:
    """Deals of other companies on each side, none with a counterpart on the other."""
    rng = random.Random(13)
    cores = [f"{a} {b}" for a, b in itertools.product(names.COMPANY_FIRST, names.COMPANY_SECOND)]
    rng.shuffle(cores)
    odoo, ace = [], []
    for i in range(FILLERS):
        for side, core in ((odoo, cores[2 * i]), (ace, cores[2 * i + 1])):
            theme = rng.choice(names.PROJECT_THEMES)
            place = rng.choice(names.PLACES)
            country = next(c.name for c in names.COUNTRIES if c.code == place.country_code)
            domain = core.lower().replace(" ", "") + ".com"
            account = f"{rng.randint(10**11, 10**12 - 1)}"
            if side is odoo:
                side.append((1000 + i, theme.title, f"{core} Inc.", f"https://{domain}", None,
                             account, None, place.city, country, theme.description))  # fmt: skip
            else:
                side.append((2000 + i, None, core, domain, None, account, place.city, country,
                             theme.title, theme.description, theme.use_case))  # fmt: skip
    return odoo, ace


@pytest.fixture(scope="module")
def url(settings: Settings) -> Iterator[str]:
    """A migrated database with the fixture's core rows and their embeddings."""
    drop_database(settings, DATABASE)
    url = ensure_database(settings, DATABASE)
    apply_migrations(url)
    embedder = load_embedder(DEFAULT_MODEL, batch_size=16)
    odoo_fillers, ace_fillers = _fillers()
    with connect(url) as conn:
        conn.execute("create schema if not exists core")
        conn.execute(
            "create table core.odoo_opportunities (opportunity_id integer primary key,"
            " opportunity_name text, company_name text, partner_name text, domain text,"
            " email text, aws_account_id text, payer_account_id text, city text,"
            " country_name text, description text, normalized_domain text,"
            " date_deadline date, recurring_revenue_monthly numeric)"
        )
        conn.execute(
            "create table core.ace_opportunities (opportunity_id integer primary key,"
            " partner_crm_unique_identifier text, customer_company_name text, domain text,"
            " customer_email text, aws_account_id text, city text, country text,"
            " project_title text, project_description text, use_case text,"
            " normalized_domain text, target_close_date date,"
            " expected_monthly_aws_revenue numeric)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into core.odoo_opportunities (opportunity_id, opportunity_name,"
                " company_name, domain, email, aws_account_id, payer_account_id, city,"
                " country_name, description) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                ODOO + odoo_fillers,
            )
            cur.executemany(
                "insert into core.ace_opportunities (opportunity_id,"
                " partner_crm_unique_identifier, customer_company_name, domain, customer_email,"
                " aws_account_id, city, country, project_title, project_description, use_case)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                ACE + ace_fillers,
            )
        for table in load_embeddings().tables.values():
            if table.source not in ("core.odoo_opportunities", "core.ace_opportunities"):
                continue
            for text_type in table.texts:
                texts = dict(conn.execute(texts_query(table, text_type)).fetchall())
                sync_embeddings(
                    conn,
                    source_table=table.source,
                    embedding_type=text_type,
                    texts=texts,
                    embedder=embedder,
                )
        ensure_hnsw_index(conn, model=embedder.model_name, dimensions=embedder.dimensions)
        conn.commit()
    yield url
    drop_database(settings, DATABASE)


@pytest.fixture(scope="module")
def first_run(url: str) -> MatchRun:
    return _match(url)


def _match(url: str) -> MatchRun:
    with connect(url) as conn:
        return match_opportunities(
            conn,
            model=DEFAULT_MODEL,
            settings=match_settings(load_matching(), ef_search=100),
            run_id="test",
        )


def _rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select odoo_opportunity_id, ace_opportunity_id, rank, score, components, status"
        " from search.opportunity_matches where model = %s order by 1, 3",
        (DEFAULT_MODEL,),
    ).fetchall()


def test_matching_finds_every_known_pair_and_nothing_else(url: str, first_run: MatchRun) -> None:
    assert first_run.matches == EXPECTED
    assert first_run.review == {}
    with connect(url) as conn:
        assert stored_matches(conn, DEFAULT_MODEL) == EXPECTED


def test_candidates_come_from_both_sides_and_every_rule(first_run: MatchRun) -> None:
    assert set(EXPECTED.items()) <= first_run.candidate_pairs
    rules = first_run.candidates_by_rule
    assert rules["crm_id"] == 1 and rules["payer_account"] == 1
    assert rules["knn_identity"] > 0 and rules["knn_context"] > 0 and rules["name_word"] > 0


def test_the_model_was_estimated_from_the_data(first_run: MatchRun) -> None:
    assert first_run.training["u_random_sampling"] == "ran"
    # A common value proves less than a rare one: agreement on a name is worth more than none.
    assert first_run.parameters["customer"]["same name and domain"] > 0
    assert first_run.parameters["country"]["different"] < 0


def test_a_placeholder_website_is_missing_not_a_disagreement(first_run: MatchRun) -> None:
    explained = first_run.scored[(6, 106)]
    # Accents and legal form removed, and no domain to disagree with.
    assert explained.levels["customer"] == "same name"
    total = first_run.prior_weight + sum(explained.contributions.values())
    assert total == pytest.approx(explained.weight, abs=0.01)


def test_a_same_named_company_elsewhere_is_not_taken(first_run: MatchRun) -> None:
    assert 8 not in first_run.matches and 108 not in first_run.matches.values()
    decoy = first_run.scored.get((8, 108))
    assert decoy is not None, "the same name must at least make it a candidate"
    assert decoy.probability < load_matching().review_probability
    assert decoy.levels["customer"] == "same name, other domain"
    assert decoy.contributions["country"] < 0 and decoy.contributions["city"] < 0


def test_two_deals_of_one_customer_on_one_account_are_told_apart_by_context(
    first_run: MatchRun,
) -> None:
    right, wrong = first_run.scored[(3, 103)], first_run.scored[(3, 102)]
    assert right.levels["aws_account"] == wrong.levels["aws_account"] == "same account"
    assert right.contributions["context"] > wrong.contributions["context"]


def test_decisions_win_over_the_model_and_survive_reruns(
    url: str,
    first_run: MatchRun,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with connect(url) as conn:
        record_decision(conn, (1, 101), "reject", decided_by="tester")
        record_decision(conn, (5, 105), "accept", decided_by="tester", note="same buyer")
        conn.commit()
    try:
        for _ in range(2):
            run = _match(url)
            assert run.matches.get(5) == 105 and 1 not in run.matches
        with connect(url) as conn:
            (accepted,) = stored_pairs(conn, DEFAULT_MODEL, odoo_id=5, status="accepted")
            who = conn.execute(
                "select decided_by, note from search.match_decisions where odoo_opportunity_id = 5"
            ).fetchone()
        assert accepted.ace_id == 105 and who == ("tester", "same buyer")
        monkeypatch.setenv("AURA_WAREHOUSE_URL", url)
        assert cli.main(["match", "explain", "5", "--side", "odoo"]) == 0
        assert "odoo 5 - ace 105: accepted" in capsys.readouterr().out
    finally:
        with connect(url) as conn:
            conn.execute("delete from search.match_decisions")
            conn.commit()


def test_a_second_run_stores_exactly_the_same_rows(url: str) -> None:
    _match(url)
    with connect(url) as conn:
        first = _rows(conn)
    _match(url)
    with connect(url) as conn:
        second = _rows(conn)
    assert first == second and first


def test_exact_and_indexed_nearest_neighbours_lead_to_the_same_matches(
    url: str, first_run: MatchRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small warehouses compare every pair in memory; large ones ask the (approximate) HNSW
    # index, whose neighbours among near-equal fillers may differ, but not the matches.
    monkeypatch.setattr(matching, "EXACT_KNN_MAX_PAIRS", 0)
    indexed = _match(url)
    assert set(EXPECTED.items()) <= indexed.candidate_pairs
    assert indexed.candidates_by_rule["knn_identity"] > 0
    assert indexed.matches == first_run.matches == EXPECTED
