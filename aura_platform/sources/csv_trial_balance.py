"""Trial-balance CSV files: whatever their headers, encoding, delimiter and number format.

Parsing is pure (no database). A file becomes an ``Extract`` of rows shaped like
``raw.csv_trial_balance`` plus a ``Rejected`` for every line that cannot be read, so that
``rows read = rows yielded + rows rejected``. A row is a non-blank record after the header; blank
lines and lines before the header (report titles) are not rows.

- Encoding: UTF-8 (with or without BOM), else cp1252. A file that is neither has every line
  rejected.
- Header: the first of the first 20 lines that, split on ``,``, ``;`` or tab, names an account code
  column and an amount column (``FIELD_ALIASES``, compared without case, spaces or punctuation).
  That also settles the delimiter.
- Number format: settled per file from its amount cells (``detect_decimal_separator``): a
  European export's ``1.234,56`` makes ``.`` the thousands separator for every cell of that file,
  so ``12.345`` is twelve thousand there, not twelve. A semicolon file with no telling cell is
  read with decimal commas, as spreadsheet exports in those locales write them.
- Amounts: separate debit and credit columns (a blank side is 0) or one signed balance, positive
  meaning debit. Either way each row gets non-negative ``debit`` and ``credit`` and
  ``balance = debit - credit``; a negative debit counts as a credit and vice versa. When a file
  has both debit/credit and a balance column, the balance column is ignored.
- Key: a trial-balance line is identified by ``(entity, period, account_code)``; a second line with
  the same key in one file is rejected, and a later file for the same entity and period replaces
  the earlier lines (the landing loader applies that).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Literal

from aura_platform.config.loader import landing_dir
from aura_platform.config.models import SourceConfig
from aura_platform.settings import Settings
from aura_platform.sources.base import Column, Extract, Rejected
from aura_platform.sources.probing import Outcome, count

TABLE = "trial_balance"

COLUMNS: list[Column] = [
    Column("file_name", "text"),
    Column("line_number", "integer"),
    Column("account_code", "text"),
    Column("account_name", "text"),
    Column("entity", "text"),
    Column("period", "date"),
    Column("currency", "text"),
    Column("debit", "numeric"),
    Column("credit", "numeric"),
    Column("balance", "numeric"),
    Column("file_checksum", "text"),
]
PRIMARY_KEY: tuple[str, ...] = ("entity", "period", "account_code")
_KEY_POSITIONS = tuple([c.name for c in COLUMNS].index(k) for k in PRIMARY_KEY)

# Amounts are money: more decimals or digits than this is a broken cell, not a balance. The limits
# keep debit + credit exact in a decimal128(38, AMOUNT_SCALE) Parquet column.
AMOUNT_SCALE = 10
AMOUNT_INTEGER_DIGITS = 24

# fmt: off
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "account_code": (
        "Account Code", "Account", "Account No", "Account Number", "Account ID", "Acct",
        "Acct No", "Acct Number", "Acct Code", "GL Code", "GL Account", "GL Account Code",
        "GL Account Number", "GL Number", "GL No", "Nominal Code", "Ledger Code",
    ),
    "account_name": (
        "Account Name", "Account Description", "Account Title", "Acct Name", "Acct Description",
        "GL Account Name", "GL Name", "GL Description", "Nominal Name", "Name", "Description",
    ),
    "entity": (
        "Entity", "Entity Code", "Entity Name", "Company", "Company Code", "Company Name",
        "Legal Entity", "Legal Entity Code",
    ),
    "period": (
        "Period", "Month", "Fiscal Period", "Accounting Period", "Posting Period", "Period End",
        "Period Ending", "Period End Date", "Date",
    ),
    "currency": ("Currency", "Currency Code", "Ccy", "Curr"),
    "debit": ("Debit", "Debits", "Dr", "Debit Amount", "Debit Balance"),
    "credit": ("Credit", "Credits", "Cr", "Credit Amount", "Credit Balance"),
    "balance": (
        "Balance", "Amount", "Net", "Net Balance", "Net Amount", "Closing Balance",
        "Ending Balance", "Signed Balance",
    ),
}
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
# fmt: on

DELIMITERS = (",", ";", "\t")
HEADER_SEARCH_LINES = 20

_MONTH_NAMES = {n: i for i, m in enumerate(_MONTHS, start=1) for n in (m, m[:3])} | {"sept": 9}
_YEAR_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})|(\d{4})(\d{2})")
_MONTH_YEAR = re.compile(r"(\d{1,2})[-/.](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_NAMED_MONTH = re.compile(r"([a-z]+)[\s\-/.,']*(\d{4})|(\d{4})[\s\-/.,]*([a-z]+)")
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
# Digits with "," thousands (including Indian 12,34,567 grouping) and "." decimals, tried first so
# that "1,234" means one thousand two hundred and thirty-four...
_POINT_DECIMAL = re.compile(
    r"\d+(\.\d*)?|\.\d+|\d{1,3}(,\d{3})+(\.\d*)?|\d{1,2}(,\d{2})*,\d{3}(\.\d*)?"
)
# ...then "." thousands and "," decimals, as in "1.234.567,89" or "12,5".
_COMMA_DECIMAL = re.compile(r"\d+,\d+|\d{1,3}(\.\d{3})+(,\d*)?")
# Once a file's decimal separator is known, each format alone (its thousands separator optional).
_FORMATS = {
    ".": re.compile(r"(\d+|\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})*,\d{3})(\.\d*)?|\.\d+"),
    ",": re.compile(r"(\d+|\d{1,3}(\.\d{3})+)(,\d*)?|,\d+"),
}
# Cells that can only be read one way: a separator followed by other than three digits is the
# decimal one, and a separator before the other kind is the thousands one.
_TELLS: dict[str, re.Pattern[str]] = {
    ".": re.compile(r"\.(\d{1,2}|\d{4,})$|,\d{3}.*\.|,\d{3},"),
    ",": re.compile(r",(\d{1,2}|\d{4,})$|\.\d{3}.*,|\.\d{3}\."),
}
_ISO_CODE_AFFIX = re.compile(r"^[A-Z]{3}|[A-Z]{3}$")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_WIDE = Context(prec=2 * (AMOUNT_SCALE + AMOUNT_INTEGER_DIGITS))
_ZERO = Decimal(0)

Row = tuple[Any, ...]


def _normalize(header: str) -> str:
    """Headers match whatever their case, spacing or punctuation ("Acct. No" = "acct_no")."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


_ALIAS_FIELD: dict[str, str] = {
    _normalize(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases
}


def file_checksum(data: bytes) -> str:
    """SHA-256 of a file's bytes, hex: its identity in the landing zone."""
    return hashlib.sha256(data).hexdigest()


DecimalSeparator = Literal[".", ","]


def _bare_amount(text: str) -> str:
    """A cell without spaces, apostrophes, currency symbols and ISO codes: digits, signs, marks."""
    s = re.sub(r"[\s'\u2019]", "", text).replace("\u2212", "-")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Sc")
    return _ISO_CODE_AFFIX.sub("", s)


def detect_decimal_separator(cells: Iterable[str], delimiter: str) -> DecimalSeparator:
    """The decimal separator most of a file's unambiguous amount cells use.

    With no unambiguous cell, a semicolon-separated file is taken to use decimal commas (what
    spreadsheets write where the comma is the decimal mark) and any other file decimal points.
    """
    votes = {".": 0, ",": 0}
    for cell in cells:
        s = _bare_amount(cell)
        for mark, tell in _TELLS.items():
            votes[mark] += bool(tell.search(s))
    if votes[","] != votes["."]:
        return "," if votes[","] > votes["."] else "."
    return "," if delimiter == ";" else "."


def parse_amount(text: str, decimal: DecimalSeparator | None = None) -> Decimal | None:
    """A money cell as a ``Decimal``; ``None`` when blank.

    Accepts thousands separators (``1,234,567.89``, ``1.234.567,89``, ``12,34,567``, spaces,
    apostrophes), negatives as ``-1``, ``1-`` or ``(1)``, currency symbols and ISO codes
    (``$``, ``€``, ``USD``), and ``-`` alone for zero. With ``decimal`` given (the file's
    separator), the other mark is the thousands separator. Without it, a lone comma followed by
    exactly three digits is a thousands separator; otherwise it is a decimal comma.

    Raises:
        ValueError: the cell is not an amount.
    """
    s = _bare_amount(text)
    if not s:
        if text.strip():
            raise ValueError(f"no digits in amount {text.strip()!r}")
        return None
    if s in ("-", "\u2013", "\u2014"):  # accounting formats show zero as a dash
        return _ZERO
    sign = 1
    if len(s) > 1 and s[0] == "(" and s[-1] == ")":
        sign, s = -1, s[1:-1]
    elif s[0] in "+-":
        sign, s = (-1 if s[0] == "-" else 1), s[1:]
    elif s[-1] == "-":
        sign, s = -1, s[:-1]
    if decimal is not None:
        if not _FORMATS[decimal].fullmatch(s):
            raise ValueError(f"unparsable amount {text.strip()!r}")
        thousands = "," if decimal == "." else "."
        digits = s.replace(thousands, "").replace(",", ".")
    elif _POINT_DECIMAL.fullmatch(s):
        digits = s.replace(",", "")
    elif _COMMA_DECIMAL.fullmatch(s):
        digits = s.replace(".", "").replace(",", ".")
    else:
        raise ValueError(f"unparsable amount {text.strip()!r}")
    try:
        value = Decimal(digits)
    except InvalidOperation as exc:
        raise ValueError(f"unparsable amount {text.strip()!r}") from exc
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # digits only: never NaN or infinity
    if -exponent > AMOUNT_SCALE or value.adjusted() >= AMOUNT_INTEGER_DIGITS:
        raise ValueError(f"amount out of range {text.strip()!r}")
    return value.copy_negate() if sign < 0 else value


def parse_period(text: str) -> date:
    """The first day of the month a period cell names.

    Accepts ``2026-01``, ``2026/01``, ``202601``, ``01/2026``, ``Jan 2026``, ``January-2026``,
    ``2026 Jan``, a date such as ``2026-01-31`` (with or without a time) and a day-first or
    month-first date such as ``31/01/2026`` when the day is over 12, so it cannot be misread.

    Raises:
        ValueError: the cell names no month, or a date could be read either way.
    """
    s = _TIME_SUFFIX.sub("", text.strip()).casefold()
    try:
        year, month = _year_month(s)
        if 1900 <= year <= 2199:
            return date(year, month, 1)  # also rejects month 13
    except _AmbiguousDate:
        raise
    except ValueError:
        pass
    raise ValueError(f"unrecognised period {text.strip()!r}")


class _AmbiguousDate(ValueError):
    """A day/month/year date whose day and month could be swapped: rejected, not guessed."""


def _year_month(s: str) -> tuple[int, int]:
    """Year and month of a period cell; a date is validated, a month is checked by the caller."""
    if m := _YEAR_MONTH.fullmatch(s):
        return int(m[1] or m[3]), int(m[2] or m[4])
    if m := _MONTH_YEAR.fullmatch(s):
        return int(m[2]), int(m[1])
    if m := _ISO_DATE.fullmatch(s):
        day = date(int(m[1]), int(m[2]), int(m[3]))
        return day.year, day.month
    if m := _DAY_MONTH_YEAR.fullmatch(s):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        if (first > 12) == (second > 12):  # both could be the month, or neither
            raise _AmbiguousDate(f"ambiguous period date {s!r}: day and month could be swapped")
        day = date(year, second, first) if first > 12 else date(year, first, second)
        return day.year, day.month
    if (m := _NAMED_MONTH.fullmatch(s)) and (m[1] or m[4]) in _MONTH_NAMES:
        return int(m[2] or m[3]), _MONTH_NAMES[m[1] or m[4]]
    raise ValueError(s)


@dataclass(frozen=True)
class _Header:
    """Where the header is, how its cells split, and which column holds each field."""

    index: int
    delimiter: str
    cells: list[str]
    fields: dict[str, int]
    decimal: DecimalSeparator = "."


def parse_bytes(file_name: str, data: bytes, *, default_currency: str = "USD") -> Extract:
    """Parse a trial-balance file's bytes into rows of ``COLUMNS`` and rejections.

    Args:
        file_name: the file's name, recorded on every row and rejection.
        data: the file's bytes; their SHA-256 becomes ``file_checksum``.
        default_currency: ISO code for rows without a currency column or value.

    Returns:
        An ``Extract`` whose ``details`` say how the file was read (encoding, delimiter, header
        line, the column each field came from, ignored columns).
    """
    if not _CURRENCY_CODE.fullmatch(default_currency):
        raise ValueError(f"default_currency is not an ISO code such as 'USD': {default_currency!r}")
    checksum = file_checksum(data)
    text, encoding = _decode(data)
    lines = list(io.StringIO(text, newline=""))
    details: dict[str, Any] = {
        "file_name": file_name,
        "file_checksum": checksum,
        "size_bytes": len(data),
        "encoding": encoding,
    }
    context = _FileContext(file_name, checksum, default_currency)
    if encoding is None:
        reason = "file is neither UTF-8 nor cp1252 text"
        return Extract(COLUMNS, context.reject_all(lines, 0, reason), details)
    header = _find_header(lines)
    if header is None:
        reason = "no header line naming an account code column and an amount column"
        return Extract(COLUMNS, context.reject_all(lines, 0, reason), details)
    header = _with_decimal_separator(lines, header)
    details.update(
        delimiter=header.delimiter,
        decimal_separator=header.decimal,
        header_line=header.index + 1,
        columns={name: header.cells[i] for name, i in header.fields.items()},
        ignored_columns=[c for i, c in enumerate(header.cells) if i not in header.fields.values()],
    )
    missing = [f for f in ("entity", "period") if f not in header.fields]
    if missing:
        reason = f"header has no {' or '.join(missing)} column"
        return Extract(COLUMNS, context.reject_all(lines, header.index + 1, reason), details)
    return Extract(COLUMNS, context.records(lines, header), details)


def _decode(data: bytes) -> tuple[str, str | None]:
    """Text and encoding name; latin-1 text and ``None`` when neither UTF-8 nor cp1252 fits."""
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), None  # only so that lines can be quarantined as text


def _find_header(lines: Sequence[str]) -> _Header | None:
    """The first early line that reads as a header under some delimiter, and that delimiter."""
    candidates = [(i, line) for i, line in enumerate(lines) if line.strip()]
    for index, line in candidates[:HEADER_SEARCH_LINES]:
        best: _Header | None = None
        for delimiter in DELIMITERS:
            cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
            fields = _map_fields(cells)
            amount = fields.keys() & {"debit", "credit", "balance"}
            if (
                "account_code" in fields
                and amount
                and (best is None or len(fields) > len(best.fields))
            ):
                best = _Header(index, delimiter, [c.strip() for c in cells], fields)
        if best is not None:
            return best
    return None


def _with_decimal_separator(lines: Sequence[str], header: _Header) -> _Header:
    """The header with the file's decimal separator, read off the amount cells below it."""
    amounts = [i for name, i in header.fields.items() if name in ("debit", "credit", "balance")]
    reader = csv.reader(
        lines[header.index + 1 :], delimiter=header.delimiter, skipinitialspace=True
    )
    cells: list[str] = []
    try:
        for row in reader:
            cells.extend(row[i] for i in amounts if i < len(row))
    except csv.Error:
        pass  # the malformed line is rejected when the rows are read; the cells so far decide
    decimal = detect_decimal_separator(cells, header.delimiter)
    return _Header(header.index, header.delimiter, header.cells, header.fields, decimal)


def _map_fields(cells: Sequence[str]) -> dict[str, int]:
    """Field name -> column index; the first column matching a field wins."""
    fields: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = _ALIAS_FIELD.get(_normalize(cell))
        if name is not None and name not in fields:
            fields[name] = i
    return fields


def _payload_text(text: str) -> str:
    """A line as JSON text PostgreSQL accepts: jsonb cannot hold NUL characters."""
    return text.rstrip("\r\n").replace("\x00", "\ufffd")


@dataclass(frozen=True)
class _FileContext:
    """What every row and rejection of one file carries."""

    file_name: str
    checksum: str
    default_currency: str

    def reject(self, line_number: int, reason: str, text: str) -> Rejected:
        """A line for quarantine, as it was in the file."""
        return Rejected(
            reason=reason,
            payload={"line": _payload_text(text), "file_checksum": self.checksum},
            source_file=self.file_name,
            line_number=line_number,
        )

    def reject_all(self, lines: Sequence[str], start: int, reason: str) -> Iterator[Rejected]:
        """File-level problems reject each line, so the file's content still reaches quarantine."""
        for i, line in enumerate(lines[start:], start=start + 1):
            if line.strip():
                yield self.reject(i, reason, line)

    def records(self, lines: Sequence[str], header: _Header) -> Iterator[Row | Rejected]:
        """Rows and rejections of the lines after the header, in file order."""
        start = header.index + 1
        reader = csv.reader(lines[start:], delimiter=header.delimiter, skipinitialspace=True)
        seen: dict[tuple[Any, ...], int] = {}
        while True:
            line_number = start + reader.line_num + 1
            try:
                cells: list[str] | None = next(reader)
                error = None
            except StopIteration:
                return
            except csv.Error as exc:
                cells, error = None, f"malformed CSV: {exc}"
            text = "".join(lines[line_number - 1 : start + reader.line_num])
            if cells is not None and not any(c.strip() for c in cells):
                continue
            result = error or self.row(cells or [], header, line_number, text)
            if isinstance(result, str):
                yield self.reject(line_number, result, text)
                continue
            key = tuple(result[i] for i in _KEY_POSITIONS)
            if key in seen:
                reason = f"duplicate of line {seen[key]} (same entity, period and account code)"
                yield self.reject(line_number, reason, text)
                continue
            seen[key] = line_number
            yield result

    def row(self, cells: list[str], header: _Header, line_number: int, text: str) -> Row | str:
        """One record as a row of ``COLUMNS``, or the reason it cannot be one."""
        width = len(header.cells)
        if len(cells) < width or any(c.strip() for c in cells[width:]):
            return f"expected {width} fields, found {len(cells)}"
        if "\x00" in text:
            return "line contains a NUL character"

        def cell(name: str) -> str:
            index = header.fields.get(name)
            return "" if index is None else cells[index].strip()

        account_code, entity = cell("account_code"), cell("entity")
        if not account_code:
            return "missing account code"
        if not entity:
            return "missing entity"
        try:
            period = parse_period(cell("period"))
        except ValueError as exc:
            return str(exc)
        currency = cell("currency").upper() or self.default_currency
        if not _CURRENCY_CODE.fullmatch(currency):
            return f"invalid currency {cell('currency')!r}"
        amounts = _amounts(header.fields.keys(), cell, header.decimal)
        if isinstance(amounts, str):
            return amounts
        debit, credit = amounts
        return (
            self.file_name,
            line_number,
            account_code,
            cell("account_name") or None,
            entity,
            period,
            currency,
            debit,
            credit,
            _WIDE.subtract(debit, credit),
            self.checksum,
        )


def _amounts(
    fields: Iterable[str], cell: Callable[[str], str], decimal: DecimalSeparator
) -> tuple[Decimal, Decimal] | str:
    """Non-negative (debit, credit) from debit/credit columns or a signed balance, or a reason."""
    names = ("debit", "credit") if {"debit", "credit"} & set(fields) else ("balance",)
    values: list[Decimal | None] = []
    for name in names:
        try:
            values.append(parse_amount(cell(name), decimal))
        except ValueError as exc:
            return f"{name}: {exc}"
    if all(v is None for v in values):
        return f"no {' or '.join(names)} amount"
    debit, credit = (v or _ZERO for v in (*values, None)[:2])
    return (
        _WIDE.add(max(debit, _ZERO), max(-credit, _ZERO)),
        _WIDE.add(max(credit, _ZERO), max(-debit, _ZERO)),
    )


# --- the transport: what the registry needs -------------------------------------------------


def open_source(name: str, config: SourceConfig, settings: Settings) -> Any:
    """Not synced table by table: the landing zone (``ingest/landing.py``) loads dropped files."""
    raise ValueError(f"source {name}: transport csv_landing is loaded by the landing zone")


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """A folder of files holds no credentials."""
    return []


def is_permanent(error: BaseException) -> bool:
    """A bad file is quarantined, not raised; anything raised may pass on retry."""
    return False


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """Dropped CSVs are archived out of the landing folder, so it must be writable too."""
    folder = landing_dir(settings)
    if not folder.is_dir():
        return "degraded", f"landing folder {folder} does not exist: create it or `aura demo`"
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return "down", f"landing folder {folder} is not readable and writable"
    waiting = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return "healthy", f"landing folder {folder}: writable, {count(len(waiting), 'file')} waiting"
