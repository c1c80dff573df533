"""Queries behind the staff review queue: a filtered page of items, its facets, full names.

A review item's ``reason`` is stored as ``"<zh>: detail / <en>: detail"``; its *category* is
the text before the first colon of each half (``地址有多个可能位置``), which is what the
queue filters by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text, true
from sqlalchemy.orm import Session

from models.schema import ReviewItem

# The category of a reason: the Chinese half up to its first colon (see the module doc).
_CATEGORY = func.split_part(func.split_part(ReviewItem.reason, " / ", 1), ": ", 1)
_CATEGORY_EN = func.split_part(func.split_part(ReviewItem.reason, " / ", 2), ": ", 1)
NO_COUNTY = "none"


@dataclass(frozen=True)
class ReviewFilter:
    """What the queue shows: the user's area prefix and the chosen county, kind and reason."""

    prefix: str = ""
    county: str = ""
    kind: str = ""
    reason: str = ""


def area_condition(prefix: str) -> ColumnElement[bool]:
    """SQL condition: a review item lies inside the area with code prefix ``prefix``.

    An item is placed by its county (one county among its candidates) and its candidate units.
    City-wide users see every item; a county sees its county's; a narrower area sees an item
    only when it has candidates and every one lies inside the area.  Items without a county
    (an address that named none, or candidates in several counties) are city-wide only.
    """
    if len(prefix) <= 4:
        return true()
    condition: ColumnElement[bool] = ReviewItem.county_code == prefix[:6]
    if len(prefix) > 6:
        every_candidate_inside = text(
            "jsonb_array_length(coalesce(review_item.candidates->'units', '[]'::jsonb)) > 0"
            " AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements("
            "review_item.candidates->'units') c WHERE NOT starts_with(c->>'code', :area_prefix))"
        ).bindparams(area_prefix=prefix)
        condition = and_(condition, every_candidate_inside)
    return condition


def item_in_area(item: ReviewItem, prefix: str) -> bool:
    """The rule of :func:`area_condition` for one loaded item."""
    if len(prefix) <= 4:
        return True
    if item.county_code is None or item.county_code != prefix[:6]:
        return False
    if len(prefix) == 6:
        return True
    codes = [c.get("code") or "" for c in (item.candidates or {}).get("units", [])]
    return bool(codes) and all(code.startswith(prefix) for code in codes)


def _where(f: ReviewFilter, *, skip: str = "") -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ReviewItem.resolved.is_(False)]
    if f.prefix:
        where.append(area_condition(f.prefix))
    if f.county and skip != "county":
        where.append(
            ReviewItem.county_code.is_(None)
            if f.county == NO_COUNTY
            else ReviewItem.county_code == f.county
        )
    if f.kind and skip != "kind":
        where.append(ReviewItem.kind == f.kind)
    if f.reason and skip != "reason":
        where.append(_CATEGORY.in_([f.reason]))
    return where


def review_page(
    session: Session, f: ReviewFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[ReviewItem], int]:
    """One page of open items matching ``f``, oldest first, and how many match in all."""
    where = _where(f)
    total = session.scalar(select(func.count()).select_from(ReviewItem).where(*where)) or 0
    items = session.scalars(
        select(ReviewItem).where(*where).order_by(ReviewItem.id).offset(offset).limit(limit)
    )
    return list(items), int(total)


def review_facets(session: Session, f: ReviewFilter) -> dict[str, list[tuple[Any, ...]]]:
    """Counts per county, kind and reason category, each under the other two filters.

    Returns
    -------
    dict
        ``county``: (county code or None, county name, n); ``kind``: (kind, n);
        ``reason``: (category zh, category en, n); each by descending n.
    """
    names: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT DISTINCT ON (left(u.code, 6)) left(u.code, 6), u.name FROM admin_unit u"
                " JOIN generation g ON g.id = u.generation_id WHERE u.level = 'county'"
                " ORDER BY left(u.code, 6), g.active DESC"
            )
        ).all()
    )
    counties = session.execute(
        select(ReviewItem.county_code, func.count())
        .where(*_where(f, skip="county"))
        .group_by(ReviewItem.county_code)
        .order_by(func.count().desc())
    ).all()
    kinds = session.execute(
        select(ReviewItem.kind, func.count())
        .where(*_where(f, skip="kind"))
        .group_by(ReviewItem.kind)
        .order_by(func.count().desc())
    ).all()
    reasons = session.execute(
        select(_CATEGORY, func.min(_CATEGORY_EN), func.count())
        .where(*_where(f, skip="reason"))
        .group_by(_CATEGORY)
        .order_by(func.count().desc())
    ).all()
    return {
        "county": [(code, names.get(code or ""), n) for code, n in counties],
        "kind": [tuple(r) for r in kinds],
        "reason": [tuple(r) for r in reasons],
    }


def full_names(session: Session, codes: list[str]) -> dict[str, list[str]]:
    """Each unit code -> the names of its county, township, village and group (as far as the
    code goes), active generation first where a code exists in several."""
    wanted: set[str] = set()
    for code in codes:
        wanted.update(_chain_codes(code))
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (u.code) u.code, u.name FROM admin_unit u"
            " JOIN generation g ON g.id = u.generation_id"
            " WHERE u.code = ANY(:codes) ORDER BY u.code, g.active DESC"
        ),
        {"codes": sorted(wanted)},
    ).all()
    name: dict[str, str] = {str(c): str(n) for c, n in rows}
    return {code: [name[c] for c in _chain_codes(code) if c in name] for code in codes}


def _chain_codes(code: str) -> list[str]:
    """The codes of a unit's county, township, village (and group) by the code's structure."""
    chain = [code[:6] + "000000"]
    if len(code) >= 9 and code[6:9] != "000":
        chain.append(code[:9] + "000")
    if len(code) >= 12 and code[9:12] != "000":
        chain.append(code[:12])
    if len(code) > 12:
        chain.append(code)
    return chain
