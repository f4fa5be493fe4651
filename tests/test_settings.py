"""Settings: defaults, external warehouse, and secrets never shown."""

import pytest

from aura_platform.settings import Settings, SourceNotConfigured, mask_secrets, mask_url


def test_mask_url_hides_the_password_and_keeps_the_rest() -> None:
    masked = mask_url("postgresql://aura:s3cret@db.example:5432/aura")
    assert masked == "postgresql://aura:***@db.example:5432/aura"


def test_mask_url_leaves_a_url_without_password_alone() -> None:
    assert (
        mask_url("postgresql://aura@127.0.0.1:54329/aura")
        == "postgresql://aura@127.0.0.1:54329/aura"
    )


def test_mask_secrets_removes_the_password_even_outside_the_url() -> None:
    url = "postgresql://u:hunter2@h/db"
    text = mask_secrets("auth failed for hunter2 at postgresql://u:hunter2@h/db", [url])
    assert "hunter2" not in text


def test_without_a_warehouse_url_the_embedded_server_on_loopback_is_used() -> None:
    s = Settings.from_env({"AURA_HOME": "/tmp/x", "AURA_PG_PORT": "6001"})
    assert s.embedded
    assert s.warehouse_url == "postgresql://aura@127.0.0.1:6001/aura"
    assert s.dagster_pg_url == "postgresql://aura@127.0.0.1:6001/dagster"


def test_an_external_warehouse_url_is_used_as_is_and_handed_to_dbt_in_parts() -> None:
    s = Settings.from_env({"AURA_WAREHOUSE_URL": "postgresql://bob:pw@pg.internal:5433/wh"})
    assert not s.embedded
    env = s.subprocess_env()
    assert (env["AURA_DBT_HOST"], env["AURA_DBT_PORT"], env["AURA_DBT_DATABASE"]) == (
        "pg.internal",
        "5433",
        "wh",
    )
    assert env["AURA_DAGSTER_PG_URL"] == "postgresql://bob:pw@pg.internal:5433/dagster"


def test_mask_secrets_removes_a_plain_secret_such_as_an_api_key() -> None:
    assert mask_secrets("refused key abc123XYZ for bot", ["abc123XYZ"]) == "refused key *** for bot"


def test_outside_the_demo_an_unset_source_is_not_configured_and_says_which_variable() -> None:
    settings = Settings.from_env({})

    assert (settings.demo, settings.odoo_url, settings.apn_url, settings.mongo_url) == (
        False,
        None,
        None,
        None,
    )
    with pytest.raises(SourceNotConfigured, match="AURA_APN_URL is not set"):
        settings.source_url("AURA_APN_URL")


def test_in_the_demo_unset_sources_read_the_demos_stand_ins_and_set_ones_win() -> None:
    settings = Settings.from_env({"AURA_DEMO": "1", "AURA_ODOO_URL": "postgresql://h/odoo"})

    assert settings.odoo_url == "postgresql://h/odoo"
    assert settings.apn_url is not None and settings.apn_url.endswith("/apn_demo")
    assert settings.mongo_url == f"mongomock://{settings.demo_dir / 'mongo'}"
    assert settings.derived_env()["AURA_DEMO"] == "1"


def test_a_misspelt_demo_flag_fails_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="AURA_DEMO='maybe'"):
        Settings.from_env({"AURA_DEMO": "maybe"})


@pytest.mark.parametrize(
    "name", ["AURA_PG_PORT", "AURA_EMBEDDING_BATCH_SIZE", "AURA_CELERY_VISIBILITY_TIMEOUT"]
)
def test_a_number_that_is_not_one_fails_naming_its_variable(name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}='5x': expected a whole number$"):
        Settings.from_env({name: "5x"})
