"""Parsing trial-balance files: headers, encodings, numbers, periods and bad lines."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.trial_balance import CsvTrialBalanceSource, parse_file

from aura_platform.sources.base import ReadWindow, Rejected
from aura_platform.sources.csv_trial_balance import (
    COLUMNS,
    FIELD_ALIASES,
    detect_decimal_separator,
    parse_amount,
    parse_bytes,
    parse_period,
)

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
NAMES = [c.name for c in COLUMNS]


def _parse(text: str, **kwargs: Any) -> tuple[list[dict[str, Any]], list[Rejected], dict]:
    """Rows as dicts and rejections of a file given as text."""
    extract = parse_bytes("tb.csv", text.encode(), **kwargs)
    records = list(extract.records)
    rows = [dict(zip(NAMES, r, strict=True)) for r in records if not isinstance(r, Rejected)]
    return rows, [r for r in records if isinstance(r, Rejected)], extract.details


def _header(field: str, alias: str) -> str:
    """A header naming ``field`` by ``alias`` and every other field by a plain name."""
    amounts = ["Balance"] if field == "balance" else ["Debit", "Credit"]
    plain = {
        "account_code": "Account Code", "account_name": "Account Name", "entity": "Entity",
        "period": "Period", "currency": "Currency", "debit": "Debit", "credit": "Credit",
        "balance": "Balance",
    }  # fmt: skip
    names = ["account_code", "account_name", "entity", "period", "currency"]
    cells = [plain[n] for n in names] + amounts
    cells[[*names, *[a.lower() for a in amounts]].index(field)] = alias
    return ",".join(cells)


@pytest.mark.parametrize(
    ("field", "alias"),
    [(field, alias) for field, aliases in FIELD_ALIASES.items() for alias in aliases],
)
def test_every_header_alias_is_recognised(field: str, alias: str) -> None:
    amounts = "42.00" if field == "balance" else "42.00,"
    text = f"{_header(field, alias)}\n1000,Cash,Acme,2026-01,EUR,{amounts}\n"
    rows, rejected, details = _parse(text)
    assert rejected == []
    assert details["columns"][field] == alias
    assert (rows[0]["account_code"], rows[0]["entity"], rows[0]["debit"]) == (
        "1000", "Acme", Decimal("42.00"),
    )  # fmt: skip


@pytest.mark.parametrize("header", ["ACCT. NO", "account_number", "  Gl-Code ", "Acct#No"])
def test_headers_match_whatever_their_case_spacing_or_punctuation(header: str) -> None:
    rows, _, _ = _parse(f"{header},Entity,Period,Balance\n1000,Acme,2026-01,5\n")
    assert rows[0]["account_code"] == "1000"


def test_no_alias_names_two_fields() -> None:
    normalized = [
        "".join(ch for ch in alias.casefold() if ch.isalnum())
        for aliases in FIELD_ALIASES.values()
        for alias in aliases
    ]
    assert len(normalized) == len(set(normalized))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_utf8_with_bom_and_cp1252_read_the_same(encoding: str) -> None:
    name = "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \u2013 \u20ac"  # all four need cp1252's upper half
    text = f"Account,Account Name,Entity,Period,Balance\r\n1000,{name},Acme,2026-01,1\r\n"
    extract = parse_bytes("tb.csv", text.encode(encoding))
    (row,) = list(extract.records)
    assert not isinstance(row, Rejected)
    assert (row[NAMES.index("account_code")], row[NAMES.index("account_name")]) == ("1000", name)
    assert extract.details["encoding"] == encoding


def test_a_file_neither_utf8_nor_cp1252_has_every_line_quarantined() -> None:
    data = b"Account,Entity,Period,Balance\n1000,Acme,2026-01,\x81\x8d\n\n2000,Acme,2026-01,2\n"
    records = list(parse_bytes("tb.csv", data).records)
    assert [(r.line_number, r.reason) for r in records if isinstance(r, Rejected)] == [
        (1, "file is neither UTF-8 nor cp1252 text"),
        (2, "file is neither UTF-8 nor cp1252 text"),
        (4, "file is neither UTF-8 nor cp1252 text"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567.89", "1234567.89"),
        ("(1,234.00)", "-1234.00"),
        ("-42.5", "-42.5"),
        ("42.50-", "-42.50"),
        ("+7", "7"),
        ("\u22127", "-7"),
        ("$1,234.56", "1234.56"),
        ("-$1,234.56", "-1234.56"),
        ("($1,234.00)", "-1234.00"),
        ("€ 1.234,56", "1234.56"),
        ("£12", "12"),
        ("USD 99.90", "99.90"),
        ("1.234.567,89", "1234567.89"),
        ("12,5", "12.5"),
        ("1 234 567,89", "1234567.89"),
        ("1'234.50", "1234.50"),
        ("12,34,567.00", "1234567.00"),
        ("0.5", "0.5"),
        (".5", "0.5"),
        ("-", "0"),
    ],
)
def test_amounts_in_common_formats(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "   "])
def test_a_blank_amount_is_none(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    "text", ["12x", "1,2,3", "(-5)", "1e5", "--5", "N/A", "0.00000000001", "1" * 25, "$"]
)
def test_malformed_amounts_are_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01", "2026/01", "2026.1", "202601", "01/2026", "1-2026", "Jan 2026", "jan-2026",
        "JANUARY 2026", "2026 Jan", "2026-01-31", "2026-01-31 00:00:00", "2026-01-15T12:00",
        "31/01/2026", "01/31/2026",
    ],
)  # fmt: skip
def test_periods_in_common_formats_mean_the_first_of_the_month(text: str) -> None:
    assert parse_period(text) == date(2026, 1, 1)


@pytest.mark.parametrize(
    "text", ["Q1 2026", "2026-13", "13/2026", "2026-02-30", "Janx 2026", "", "1899-12", "26-01"]
)
def test_unknown_periods_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="unrecognised period"):
        parse_period(text)


def test_a_date_whose_day_and_month_could_be_swapped_is_not_guessed() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        parse_period("01/02/2026")


def test_debit_credit_columns_and_a_signed_balance_give_the_same_row() -> None:
    split, _, _ = _parse("Account,Entity,Period,Debit,Credit\n1,A,2026-01,10,\n2,A,2026-01,,4\n")
    signed, _, _ = _parse("Account,Entity,Period,Balance\n1,A,2026-01,10\n2,A,2026-01,-4\n")
    amounts = [[(r["debit"], r["credit"], r["balance"]) for r in rows] for rows in (split, signed)]
    assert amounts[0] == amounts[1]
    assert amounts[0] == [
        (Decimal(10), Decimal(0), Decimal(10)),
        (Decimal(0), Decimal(4), Decimal(-4)),
    ]


def test_a_negative_debit_counts_as_a_credit_and_both_sides_stay_non_negative() -> None:
    rows, _, _ = _parse("Account,Entity,Period,Debit,Credit\n1,A,2026-01,-7,\n2,A,2026-01,3,-2\n")
    assert [(r["debit"], r["credit"], r["balance"]) for r in rows] == [
        (Decimal(0), Decimal(7), Decimal(-7)),
        (Decimal(5), Decimal(0), Decimal(5)),
    ]


def test_a_balance_column_beside_debit_and_credit_is_ignored() -> None:
    rows, _, details = _parse("Account,Entity,Period,Debit,Credit,Balance\n1,A,2026-01,5,,999\n")
    assert rows[0]["balance"] == Decimal(5)
    assert details["columns"]["balance"] == "Balance"


def test_a_european_export_is_read_with_its_decimal_comma_in_every_cell() -> None:
    extract = parse_file(FIXTURES / "umbrella_2026-04_decimal_comma.csv")
    records = list(extract.records)
    assert not [r for r in records if isinstance(r, Rejected)]
    rows = [dict(zip(NAMES, r, strict=True)) for r in records]
    # "12.345" alone could be twelve; beside "1.234,56" it is twelve thousand.
    assert [(r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("1000", Decimal("12345"), Decimal(0)),
        ("1200", Decimal("1234.56"), Decimal(0)),
        ("1300", Decimal("0.44"), Decimal(0)),
        ("4000", Decimal(0), Decimal("13580")),
    ]
    assert sum(r["balance"] for r in rows) == 0
    assert (extract.details["delimiter"], extract.details["decimal_separator"]) == (";", ",")


@pytest.mark.parametrize(
    ("cells", "delimiter", "expected"),
    [
        (["1.234,56", "12.345"], ";", ","),
        (["1,234.56", "12,345"], ";", "."),  # the cells outvote the delimiter
        (["12.345", "1.000"], ";", ","),  # nothing tells: semicolon files use decimal commas
        (["12,345", "1,000"], ",", "."),
        (["0,5", "2.500.000"], ",", ","),
        (["", "-", "$1,234.00"], ",", "."),
    ],
)
def test_the_decimal_separator_is_what_the_telling_cells_use(
    cells: list[str], delimiter: str, expected: str
) -> None:
    assert detect_decimal_separator(cells, delimiter) == expected


def test_with_a_known_separator_the_other_mark_only_groups_thousands() -> None:
    assert parse_amount("12.345", ",") == Decimal(12345)
    assert parse_amount("12,345", ",") == Decimal("12.345")
    assert parse_amount("12,345", ".") == Decimal(12345)
    with pytest.raises(ValueError, match="unparsable"):
        parse_amount("1,234.56", ",")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    cells = [["Account", "Account Name", "Entity", "Period", "Balance"],
             ["1000", "Cash, petty", "Acme", "2026-01", "5"]]  # fmt: skip
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in row) for row in cells)
    rows, rejected, details = _parse(text)
    assert (details["delimiter"], rejected) == (delimiter, [])
    assert rows[0]["account_name"] == "Cash, petty"


def test_title_lines_before_the_header_are_neither_rows_nor_rejections() -> None:
    text = "ACME TRIAL BALANCE\nAs of 31 Jan 2026\n\nAccount,Entity,Period,Balance\n1,A,2026-01,5\n"
    rows, rejected, details = _parse(text)
    assert (len(rows), rejected, details["header_line"]) == (1, [], 4)
    assert rows[0]["line_number"] == 5


def test_a_file_without_a_recognisable_header_has_every_line_quarantined() -> None:
    rows, rejected, _ = _parse("foo,bar\n1,2\n")
    assert rows == []
    assert [r.line_number for r in rejected] == [1, 2]
    assert rejected[0].reason.startswith("no header line")


def test_a_header_without_entity_or_period_rejects_every_row_with_the_reason() -> None:
    rows, rejected, _ = _parse("Account,Balance\n1,5\n2,6\n")
    assert rows == []
    assert [(r.line_number, r.reason) for r in rejected] == [
        (2, "header has no entity or period column"),
        (3, "header has no entity or period column"),
    ]


def test_currency_defaults_from_the_parameter_and_bad_codes_are_rejected() -> None:
    text = "Account,Entity,Period,Currency,Balance\n1,A,2026-01,,5\n2,A,2026-01,eur,5\n"
    text += "3,A,2026-01,$,5\n"
    rows, rejected, _ = _parse(text, default_currency="GBP")
    assert [r["currency"] for r in rows] == ["GBP", "EUR"]
    assert [(r.line_number, r.reason) for r in rejected] == [(4, "invalid currency '$'")]


def test_a_quoted_field_over_two_lines_keeps_its_first_line_number() -> None:
    text = 'Account,Account Name,Entity,Period,Balance\n1,"Rent\n(office)",A,2026-01,5\n'
    text += "2,x,A,2026-01,\n"
    rows, rejected, _ = _parse(text)
    assert (rows[0]["line_number"], rows[0]["account_name"]) == (2, "Rent\n(office)")
    assert (rejected[0].line_number, rejected[0].payload["line"]) == (4, "2,x,A,2026-01,")


def test_a_nul_character_is_rejected_and_kept_readable_in_the_payload() -> None:
    _, rejected, _ = _parse("Account,Entity,Period,Balance\n1,A\x00,2026-01,5\n")
    assert rejected[0].reason == "line contains a NUL character"
    assert rejected[0].payload["line"] == "1,A\ufffd,2026-01,5"


def test_a_messy_file_accounts_for_every_row_it_reads() -> None:
    path = FIXTURES / "initech_2026-03_messy.csv"
    lines = path.read_text().splitlines()
    # Independently of the parser: rows are the non-empty lines after the header.
    rows_read = sum(1 for line in lines[1:] if line.strip(" ,"))
    records = list(parse_file(path).records)
    good = [r for r in records if not isinstance(r, Rejected)]
    rejected = [r for r in records if isinstance(r, Rejected)]

    assert rows_read == len(good) + len(rejected) == 15
    assert [r[NAMES.index("line_number")] for r in good] == [2, 9, 10, 11, 12, 13]
    assert {r.line_number: r.reason for r in rejected} == {
        3: "missing account code",
        4: "debit: unparsable amount '12x'",
        5: "unrecognised period 'Q1 2026'",
        6: "expected 6 fields, found 5",
        8: "duplicate of line 2 (same entity, period and account code)",
        14: "no debit or credit amount",
        16: "missing entity",
        17: "missing entity",
        18: "debit: unparsable amount '1,2,3'",
    }
    for r in rejected:
        assert r.payload["line"] == lines[r.line_number - 1]
        assert r.source_file == path.name


def test_the_source_reads_files_one_after_another_as_one_table() -> None:
    paths = sorted(FIXTURES.glob("*.csv"))
    source = CsvTrialBalanceSource(paths)
    extract = source.extract("trial_balance", ReadWindow(cursor=None))
    records = list(extract.records)
    files = {r[0] for r in records if not isinstance(r, Rejected)}
    assert extract.columns == COLUMNS
    assert files == {p.name for p in paths}
    assert len(records) == 6 + 5 + 15 + 4
    assert [d["file_name"] for d in extract.details["files"]] == [p.name for p in paths]
    assert source.primary_keys("trial_balance") is None


def test_the_source_refuses_other_tables_and_cursors() -> None:
    source = CsvTrialBalanceSource([])
    with pytest.raises(LookupError):
        source.extract("journal", ReadWindow(cursor=None))
    with pytest.raises(ValueError, match="no cursor"):
        source.extract("trial_balance", ReadWindow(cursor="modified_at"))
