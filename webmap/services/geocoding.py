"""Geocoding as a service: the answers of ``qungong geocode`` for the CLI and /api/geocode.

One conversion from the gazetteer's results to answers, so the command line and the API give
the same fields and values. The gazetteer itself stays loaded between calls
(:func:`ingest.activity.gazetteer_for`: a cachetools LRU keyed on the units' signature, so an
import of boundaries makes the next call build a new one).

Area scope: the caller's area is given to the gazetteer as a hint, and an answer outside the
area is reported as unmatched (``不在您的辖区``) with no place; candidates outside are dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import pandas as pd

GEOCODE_COLUMNS = ("lon", "lat", "code", "level", "score", "status", "candidates", "reason")
OUTSIDE_AREA = "不在您的辖区"


def _given(value: object) -> bool:
    return value is not None and value == value  # NaN is not equal to itself


def answers(
    gazetteer: Any, addresses: Sequence[str | None], *, prefix: str = ""
) -> list[dict[str, str]]:
    """One answer per address, as the CLI writes it (every field a string).

    ``prefix`` is the caller's area code prefix ('' or the city's: no restriction).
    """
    found: pd.DataFrame = gazetteer.geocode_many(list(addresses), area=_area_code(prefix))
    # The historic unit's active successor is the one maps and imports use.
    codes = found["successor_code"].fillna(found["code"]).tolist()
    columns = zip(
        found["lon"].tolist(),
        found["lat"].tolist(),
        codes,
        found["level"].tolist(),
        found["score"].tolist(),
        found["status"].tolist(),
        found["candidates"].tolist(),
        found["reason"].tolist(),
        strict=True,
    )
    out = []
    for lon, lat, unit, level, score, status, candidates, reason in columns:
        answer = {
            "lon": f"{lon:.6f}" if _given(lon) else "",
            "lat": f"{lat:.6f}" if _given(lat) else "",
            "code": unit if _given(unit) else "",
            "level": level if _given(level) else "",
            "score": f"{score:.3f}",
            "status": status,
            "candidates": "|".join(candidates),
            "reason": reason,
        }
        out.append(_scoped(answer, prefix))
    return out


def _area_code(prefix: str) -> str | None:
    # The gazetteer takes a 12-digit code as its area hint.
    if len(prefix) <= 4:
        return None
    return prefix[:12].ljust(12, "0")


def _scoped(answer: dict[str, str], prefix: str) -> dict[str, str]:
    if len(prefix) <= 4:
        return answer
    candidates = [c for c in answer["candidates"].split("|") if c and c.startswith(prefix)]
    answer["candidates"] = "|".join(candidates)
    if answer["code"] and not answer["code"].startswith(prefix):
        answer.update(
            lon="",
            lat="",
            code="",
            level="",
            score="0.000",
            status="unmatched",
            reason=OUTSIDE_AREA,
        )
    return answer


def typed(answer: dict[str, str], address: str | None) -> dict[str, Any]:
    """An answer for JSON: numbers as numbers, empty as null, candidates as a list."""
    return {
        "address": address,
        "lon": float(answer["lon"]) if answer["lon"] else None,
        "lat": float(answer["lat"]) if answer["lat"] else None,
        "code": answer["code"] or None,
        "level": answer["level"] or None,
        "score": float(answer["score"]),
        "status": answer["status"],
        "candidates": [c for c in answer["candidates"].split("|") if c],
        "reason": answer["reason"],
    }


def geocode_csv(gazetteer: Any, text: str, *, column: str = "address", prefix: str = "") -> str:
    """A CSV with an address column in, the same CSV with the answer columns appended out.

    Raises
    ------
    KeyError
        There is no ``column`` in the header.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    if column not in header:
        msg = f"no {column!r} column (columns: {', '.join(header) or 'none'})"
        raise KeyError(msg)
    rows = list(reader)
    found = answers(gazetteer, [r[column] for r in rows], prefix=prefix)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = [c for c in GEOCODE_COLUMNS if c not in header]
    writer.writerow(header + extra)
    for row, answer in zip(rows, found, strict=True):
        writer.writerow([row.get(c, "") for c in header] + [answer[c] for c in extra])
    return out.getvalue()
