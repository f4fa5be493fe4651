"""Expectation suites in ``assets_config/expectations/``: validated when the code location loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_platform.config.gx_catalog import build_catalog, load_catalog
from aura_platform.config.loader import (
    ConfigError,
    check_suite_columns,
    load_suites,
    load_yaml_model,
)
from aura_platform.config.models import SuiteConfig
from aura_platform.defs.quality.checks import _declared_columns

GOOD_HEAD = "asset: raw/odoo/crm_lead\ntable: raw.odoo_crm_lead\nexpectations:\n"


def _suite_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "raw_odoo_crm_lead.yaml"
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as error:
        suite = load_yaml_model(path, SuiteConfig)
        check_suite_columns(path, suite, _declared_columns())
    return str(error.value)


def test_the_catalogue_matches_the_installed_great_expectations() -> None:
    built = build_catalog()
    shipped = load_catalog()
    assert set(built) == set(shipped), "regenerate: python -m aura_platform.config.gx_catalog"
    for name, entry in built.items():
        assert shipped[name].class_name == entry["class"]
        assert shipped[name].arguments == frozenset(entry["arguments"])


def test_every_shipped_suite_builds_real_gx_expectations() -> None:
    import great_expectations as gx

    suites = load_suites()
    assert {suite.asset for _, suite in suites} >= {"raw/odoo/crm_lead", "core/odoo_opportunities"}
    for _, suite in suites:
        for item in suite.expectations:
            cls = getattr(gx.expectations, load_catalog()[item.expectation].class_name)
            cls(**item.kwargs)  # raises on arguments of the wrong type


def test_a_misspelt_expectation_names_the_file_the_line_and_the_likely_name(
    tmp_path: Path,
) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: id}\n"
        "  - expectation: expect_column_values_to_be_uniqe\n"
        "    kwargs: {column: id}\n",
    )

    message = _error(path)

    assert message.startswith(f"{path}: line 6: expectations.1.expectation")
    assert "unknown Great Expectations expectation 'expect_column_values_to_be_uniqe'" in message
    assert "did you mean 'expect_column_values_to_be_unique'" in message


def test_an_argument_the_expectation_does_not_take_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_be_between\n"
        "    kwargs:\n      column: probability\n      min_valu: 0\n",
    )

    message = _error(path)

    assert f"{path}: line 5: expectations.0.kwargs" in message
    assert "takes no argument 'min_valu'" in message and "min_value" in message


def test_mostly_is_a_share_of_rows_and_a_percentage_is_refused(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: name, mostly: 95}\n",
    )

    message = _error(path)

    assert f"{path}: line 5: expectations.0.kwargs" in message
    assert "mostly is the share of rows that must pass, 0 to 1; got 95" in message


def test_a_column_the_table_does_not_have_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: id}\n"
        "  - expectation: expect_column_pair_values_a_to_be_greater_than_b\n"
        "    kwargs:\n      column_A: probability\n      column_B: probabilty\n",
    )

    message = _error(path)

    assert f"{path}: line 9: expectations.1.kwargs.column_B" in message
    assert "raw.odoo_crm_lead has no column 'probabilty'" in message


def test_a_key_column_must_exist_too(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD.replace("expectations:", "key_columns: [id, lead_ref]\nexpectations:")
        + "  - expectation: expect_column_values_to_not_be_null\n    kwargs: {column: id}\n",
    )

    assert f"{path}: line 3: key_columns.1: raw.odoo_crm_lead has no column 'lead_ref'" in (
        _error(path)
    )


def test_raw_metadata_columns_are_always_known(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: _ingested_at}\n",
    )

    check_suite_columns(path, load_yaml_model(path, SuiteConfig), _declared_columns())


def test_a_table_outside_the_dbt_project_is_refused(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD.replace("raw.odoo_crm_lead", "raw.odoo_crm_leads")
        + "  - expectation: expect_column_values_to_not_be_null\n    kwargs: {column: id}\n",
    )

    assert f"{path}: line 2: table: raw.odoo_crm_leads is not a dbt source or model" in (
        _error(path)
    )


def test_a_table_without_declared_columns_asks_for_them(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD.replace("crm_lead", "res_partner")
        + "  - expectation: expect_column_values_to_not_be_null\n    kwargs: {column: id}\n",
    )

    assert "raw.odoo_res_partner declares no columns" in _error(path)


def test_malformed_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = _suite_file(
        tmp_path,
        GOOD_HEAD + "  - expectation: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: id\n"
        "  - expectation: expect_column_values_to_be_unique\n",
    )

    message = _error(path)

    assert message.startswith(f"{path}: line 6: invalid YAML")  # where the parser gave up
