"""Text encodings of the files staff send: the one sniffer, and codec names from .cpg files.

Chinese offices save tables and .dbf text as UTF-8 (sometimes with a BOM) or GBK; GB18030 is a
superset of GBK and GB2312, so "UTF-8 when the bytes decode as UTF-8, else GB18030" reads both
and rejects bytes that are neither.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

__all__ = ["first_undecodable_line", "normalise_encoding", "sniff"]

_FALLBACK = "GB18030"

# .cpg spellings seen in the wild, mapped to Python codec names.
_CPG_ALIASES = {
    "utf-8": "UTF-8",
    "utf8": "UTF-8",
    "65001": "UTF-8",
    "gbk": "GBK",
    "cp936": "GBK",
    "936": "GBK",
    "ansi 936": "GBK",
    "gb2312": "GBK",
    "gb18030": "GB18030",
    "54936": "GB18030",
}


def sniff(data: bytes, *, prefer: Iterable[str] = ()) -> str | None:
    """The first of UTF-8, ``prefer`` and GB18030 that decodes ``data``; None if none does.

    >>> sniff("田心村".encode("gbk")), sniff("田心村".encode()), sniff(b"\\xff\\xff\\xff")
    ('GB18030', 'UTF-8', None)
    """
    for encoding in ("UTF-8", *prefer, _FALLBACK):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def first_undecodable_line(raw: bytes) -> int:
    """1-based number of the first line no sniffed encoding reads (0: every line reads)."""
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if sniff(line) is None:
            return i
    return 0


def normalise_encoding(name: str) -> str:
    """A codec name from a .cpg or a user option (``"936"`` → ``"GBK"``).

    >>> normalise_encoding("936"), normalise_encoding("utf_8")
    ('GBK', 'UTF-8')

    Raises
    ------
    ValueError
        Python knows no such codec.
    """
    key = name.strip().lower()
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        return codecs.lookup(key).name.upper()
    except LookupError as exc:
        msg = f"unknown text encoding {name!r}"
        raise ValueError(msg) from exc
