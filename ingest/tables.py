"""Read a CSV or XLSX table as text columns, and find its columns by their many spellings.

The one table reader for the registers (stations, officers, teams) and the activity files
(cases, visits); its text encoding is sniffed by :func:`ingest.encodings.sniff`, as a
shapefile's ``.dbf`` text is.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.encodings import first_undecodable_line, sniff
from ingest.errors import IngestError
from ingest.files import Limits

__all__ = ["column", "match_columns", "normalise_header", "read_table"]


def normalise_header(text: object) -> str:
    """A header as compared with the known spellings: lower case, no blanks or punctuation.

    >>> normalise_header(" 县（市、区） "), normalise_header("Case_No.")
    ('县市、区', 'caseno')
    """
    s = str(text).strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"[\s_\-.()]", "", s)


def match_columns(
    columns: Iterable[str],
    headers: Mapping[str, Iterable[str]],
    *,
    explicit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map field keys to the table's columns: ``explicit`` first, then the known spellings.

    Parameters
    ----------
    columns
        The table's headers.
    headers
        Field key -> accepted spellings, most specific first.
    explicit
        Key -> column chosen by the user (``--field key=COLUMN``).

    Raises
    ------
    KeyError
        An explicit key is unknown or names a column the table lacks.
    """
    columns = list(columns)
    found: dict[str, str] = {}
    for key, column in (explicit or {}).items():
        if key not in headers:
            msg = f"unknown field key {key!r}: use one of {', '.join(headers)}"
            raise KeyError(msg)
        if column not in columns:
            msg = f"no column {column!r} (columns: {', '.join(columns)})"
            raise KeyError(msg)
        found[key] = column
    normal: dict[str, str] = {}
    for c in columns:
        normal.setdefault(normalise_header(c), c)
    for key, candidates in headers.items():
        if key in found:
            continue
        for cand in candidates:
            col = normal.get(normalise_header(cand))
            if col is not None and col not in found.values():
                found[key] = col
                break
    return found


def read_table(
    path: Path, *, shown: str, encoding: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """A CSV or XLSX sheet as text columns (stripped; None for blanks).

    CSV text is UTF-8 or GBK/GB18030, sniffed unless ``encoding`` names it.  CSVs are cleaned
    column-wise: a million visits would take minutes cell by cell.

    Raises
    ------
    IngestError
        The file cannot be read or decoded, or is of another type.
    """
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        frame = _read_csv(path, shown=shown, encoding=encoding)
    elif suffix in (".xlsx", ".xlsm"):
        _check_xlsx(path, shown)
        try:
            frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
        except (ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
            msg = f"is not a readable XLSX workbook ({exc})"
            raise IngestError(shown, msg) from exc
        frame = frame.fillna("")
    else:
        msg = f"unsupported table file type {suffix!r}: send .csv or .xlsx"
        raise IngestError(shown, msg)
    out = {}
    for c in frame.columns:
        values = frame[c].astype(str).str.strip().to_numpy(object)
        values[values == ""] = None
        out[str(c).strip()] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)), dtype=object)


def _read_csv(path: Path, *, shown: str, encoding: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if encoding is None:
        encoding = sniff(raw)
        if encoding is None:
            line = first_undecodable_line(raw)
            msg = "text is neither UTF-8 nor GBK (编码无法识别); save the file as UTF-8 or GBK"
            raise IngestError(shown, msg, where=f"row {line}")
    # The BOM some spreadsheet programs write is not part of the first header.
    codec = "utf-8-sig" if encoding.upper().replace("_", "-") in ("UTF-8", "UTF8") else encoding
    try:
        text = raw.decode(codec)
    except LookupError as exc:
        raise IngestError(shown, f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = (
            f"text is not {encoding} (编码不对, wrong encoding?); "
            "save the file as UTF-8 or GBK or give --encoding"
        )
        raise IngestError(shown, msg, where=f"row {line}") from exc
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"is not a readable CSV table ({str(exc).strip()})"
        raise IngestError(shown, msg) from exc


def _check_xlsx(path: Path, shown: str) -> None:
    """Refuse workbooks that expand absurdly (an XLSX is a zip, so it can be a zip bomb)."""
    limits = Limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise IngestError(shown, "is not a readable XLSX workbook (bad zip)") from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > limits.max_uncompressed_bytes or (total > 1024**2 and total / packed > 1000):
        msg = f"expands to {total / 1024**2:.0f} MB (zip bomb?); refused"
        raise IngestError(shown, msg)


def column(table: pd.DataFrame, cols: Mapping[str, str], key: str) -> pd.Series:
    """The column mapped to ``key``, or an all-None column when the table has none."""
    if key in cols:
        return table[cols[key]]
    return pd.Series(np.full(len(table), None, dtype=object), index=table.index)
