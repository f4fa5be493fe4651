"""``quality.yaml``: validated at load, and the checks generated from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from aura_platform.config.loader import CONFIG_DIR, ConfigError
from aura_platform.config.models import RawCheckConfig
from aura_platform.defs.ingestion.assets import table_syncs
from aura_platform.defs.quality.standard_checks import standard_checks
from aura_platform.defs.quality.table_checks import build_table_checks, table_checks
from aura_platform.quality.sql_checks import (
    CHECK_KINDS,
    CheckKind,
    CheckOutcome,
    CheckTarget,
    load_quality,
)


def _config_dir(tmp_path: Path, quality: str) -> Path:
    """A config folder with the shipped ``sources.yaml`` and the given ``quality.yaml``."""
    shutil.copy(CONFIG_DIR / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "quality.yaml").write_text(quality)
    return tmp_path


def test_an_unknown_key_is_rejected_naming_the_file_and_the_key(tmp_path: Path) -> None:
    folder = _config_dir(tmp_path, "standard:\n  freshness:\n    max_age_hourz: 12\n")

    with pytest.raises(ConfigError) as error:
        load_quality(folder)

    assert str(folder / "quality.yaml") in str(error.value)
    assert "standard.freshness.max_age_hourz" in str(error.value)


def test_an_override_for_a_table_missing_from_sources_is_rejected(tmp_path: Path) -> None:
    folder = _config_dir(
        tmp_path, "standard:\n  freshness:\n    overrides:\n      odoo.crm_leads: 2\n"
    )

    with pytest.raises(ConfigError, match=r"standard\.freshness\.overrides\.odoo\.crm_leads"):
        load_quality(folder)


def test_a_currency_code_must_be_three_capital_letters(tmp_path: Path) -> None:
    folder = _config_dir(
        tmp_path,
        "checks:\n  currency_is_known:\n    codes: [USD, usd]\n"
        "    columns: {mongo.invoices: currency}\n",
    )

    with pytest.raises(ConfigError, match=r"checks\.currency_is_known\.codes\.1"):
        load_quality(folder)


def test_a_table_override_wins_over_its_source_and_the_default(tmp_path: Path) -> None:
    folder = _config_dir(
        tmp_path,
        "standard:\n  freshness:\n    max_age_hours: 26\n"
        "    overrides: {odoo: 30, odoo.crm_lead: 2}\n",
    )

    freshness = load_quality(folder).standard["freshness"]

    hours = {
        table: freshness.for_table(*table.split(".")).max_age_hours  # type: ignore[attr-defined]
        for table in ("odoo.crm_lead", "odoo.res_partner", "apn.opportunity")
    }
    assert hours == {"odoo.crm_lead": 2, "odoo.res_partner": 30, "apn.opportunity": 26}


def test_every_raw_table_gets_the_three_standard_checks_blocking_by_severity() -> None:
    specs = {c.key: c for checks in standard_checks for c in checks.check_specs}
    raw_keys = {dg.AssetKey(["raw", s.source_name, s.table_name]) for s in table_syncs()}

    assert {key.asset_key for key in specs} == raw_keys
    for key in raw_keys:
        blocking = {
            name: specs[dg.AssetCheckKey(key, name)].blocking
            for name in ("freshness", "no_sudden_drop", "primary_key_unique_not_null")
        }
        assert blocking == {
            "freshness": False,
            "no_sudden_drop": True,
            "primary_key_unique_not_null": True,
        }


def test_finance_checks_block_on_balances_and_invoices_and_only_warn_on_currency() -> None:
    blocking = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for checks in table_checks
        for spec in checks.check_specs
    }

    assert blocking == {
        ("raw/csv/trial_balance", "trial_balance_balances"): True,
        ("raw/csv/trial_balance", "currency_is_known"): False,
        ("raw/mongo/invoices", "currency_is_known"): False,
        ("raw/mongo/invoices", "invoice_totals_match_items"): True,
        ("raw/odoo/account_move_line", "gl_ties_to_trial_balance"): True,
    }


def test_a_misspelt_check_kind_is_rejected_naming_its_line(tmp_path: Path) -> None:
    folder = _config_dir(
        tmp_path, "checks:\n  trial_balance_balance:\n    table: csv.trial_balance\n"
    )

    with pytest.raises(ConfigError, match=r"line 2: checks\.trial_balance_balance: Extra inputs"):
        load_quality(folder)


class RowsExistConfig(RawCheckConfig):
    """A made-up kind: the table has live rows."""

    table: str

    def attached_to(self) -> dict[str, str]:
        return {"table": self.table}


def _rows_exist(url: str, config: RowsExistConfig, target: CheckTarget) -> CheckOutcome:
    raise AssertionError("not run by a definitions test")


def test_a_new_check_kind_is_one_registry_entry_and_its_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = CheckKind(
        RowsExistConfig, _rows_exist, check_type="volume", description="{table} has live rows."
    )
    monkeypatch.setitem(CHECK_KINDS, "rows_exist", kind)
    folder = _config_dir(
        tmp_path, "checks:\n  rows_exist:\n    table: odoo.crm_lead\n    severity: WARN\n"
    )

    quality = load_quality(folder)
    [check] = build_table_checks(
        quality.checks, {f"{s.source_name}.{s.table_name}": s for s in table_syncs()}
    )

    [spec] = check.check_specs
    assert (spec.asset_key, spec.name, spec.blocking, spec.description) == (
        dg.AssetKey(["raw", "odoo", "crm_lead"]),
        "rows_exist",
        False,
        "raw.odoo_crm_lead has live rows. (WARN)",
    )
