"""The leaders' query: what a page, API call or command asks for, parsed from its arguments.

:func:`parse_query` reads request-style arguments (kinds, statuses, months, area, layer, rate
unit, Gi* value, FDR) into a :class:`LeadersQuery`, bounding every value and naming the
parameter it refuses; ``webmap.services.leaders`` turns a query into its layers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from werkzeug.datastructures import MultiDict

from models import hotspots as case_queries
from models import places
from models.schema import CASE_KINDS, CASE_STATUSES
from webmap.errors import ApiError

__all__ = ["LAYERS", "RATE_UNIT", "LeadersQuery", "QueryError", "parse_date", "parse_query"]

LAYERS = ("heat", "monthly", "rates", "hotspots")
# Units the rates map uses by default, by viewed level (townships at city scale: 255 units
# read better than 5,903 villages and keep the page small).
RATE_UNIT = {"city": "township", "county": "village", "township": "village"}
# Years a date filter may name.
YEARS = (1949, 2100)


class QueryError(ApiError):
    """A query parameter that cannot be understood; the message names it."""

    code = "bad_parameter"


# What a query is parsed from: a request's ``args`` or any werkzeug ``MultiDict``.
Arguments = MultiDict[str, str]


@dataclass(frozen=True)
class LeadersQuery:
    """What a leaders' page, API call or command asks for."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    area: str = ""
    layer: str = "heat"
    unit: str = ""
    gi: str = "rate"
    fdr: bool = True

    @property
    def level(self) -> str:
        """Viewed level: city, county or township (a village or group is drawn at a township's
        scale, but only its own cases are counted: see :attr:`prefix`)."""
        if not self.area:
            return "city"
        level = places.level_of(self.area)
        return "township" if level in ("village", "group") else level

    @property
    def prefix(self) -> str:
        """Code prefix of the area ('' for the whole city): every case counted lies under it."""
        return places.area_prefix(self.area) if self.area else ""

    @property
    def rate_unit(self) -> str:
        """Units of the rates layer: the one asked for, else the level's default."""
        return self.unit or RATE_UNIT[self.level]

    def case_filter(self) -> case_queries.CaseFilter:
        """The cases this query selects, as ``models.hotspots`` takes them."""
        return case_queries.CaseFilter(
            kinds=self.kinds,
            statuses=self.statuses,
            date_from=self.date_from,
            date_to=self.date_to,
            prefix=self.prefix,
        )

    def args(self, **changes: Any) -> dict[str, str]:
        """Query-string parameters that reproduce this state (with ``changes``)."""
        state = replace(self, **changes) if changes else self
        out = {
            "kind": ",".join(state.kinds),
            "status": ",".join(state.statuses),
            "from": state.date_from.isoformat() if state.date_from else "",
            "to": state.date_to.isoformat() if state.date_to else "",
            "area": state.area,
            "layer": state.layer if state.layer != "heat" else "",
            "unit": state.unit,
            "gi": state.gi if state.gi != "rate" else "",
            "fdr": "" if state.fdr else "0",
        }
        return {k: v for k, v in out.items() if v}


def _choices(args: Arguments, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values: list[str] = []
    for raw in args.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad:
        msg = f"parameter {name!r} must be among {', '.join(allowed)}, got {bad}"
        raise QueryError(msg)
    return tuple(v for v in allowed if v in values)


def parse_date(raw: str, *, name: str, end: bool) -> dt.date | None:
    """A date from ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; a year or month gives its first
    day, or its last when ``end``.

    Leaders' filters are whole months: a day is taken as its month.  Two queries whose end
    dates differ by a day would otherwise differ by the one or two cases of that day, and
    their difference would place those cases (issue #9, differencing).

    >>> parse_date("2013-02", name="to", end=True)
    datetime.date(2013, 2, 28)
    >>> parse_date("2013", name="from", end=False)
    datetime.date(2013, 1, 1)
    >>> parse_date("2013-02-14", name="to", end=True)
    datetime.date(2013, 2, 28)
    >>> parse_date("2013-02-14", name="from", end=False)
    datetime.date(2013, 2, 1)
    """
    raw = raw.strip()
    if not raw:
        return None
    year = raw[:4]
    if not (year.isascii() and year.isdigit() and YEARS[0] <= int(year) <= YEARS[1]):
        # Bounded: other years are typing errors, and 9999-12 would overflow below.
        msg = f"parameter {name!r} must be a date in {YEARS[0]}-{YEARS[1]}, got {raw[:20]!r}"
        raise QueryError(msg)
    try:
        if len(raw) == 4:  # a year
            return dt.date(int(raw), 12, 31) if end else dt.date(int(raw), 1, 1)
        if len(raw) == 7:  # a month
            first = dt.date.fromisoformat(raw + "-01")
            if not end:
                return first
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return following - dt.timedelta(days=1)
        day = dt.date.fromisoformat(raw)
        return parse_date(f"{day:%Y-%m}", name=name, end=end)
    except ValueError:
        msg = f"parameter {name!r} must be YYYY, YYYY-MM or YYYY-MM-DD, got {raw[:20]!r}"
        raise QueryError(msg) from None


def _one_of(args: Arguments, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = args.get(name) or default
    if value not in allowed:
        msg = f"{name} must be one of {', '.join(a for a in allowed if a)}"
        raise QueryError(msg)
    return value


def _area(args: Arguments, scope: Callable[[str], str] | None) -> str:
    area = (args.get("area") or "").strip()
    if scope is not None:
        # The caller's rule (webmap.access.scoped_code): the user's area intersected with
        # the requested one; it refuses malformed codes (400) and foreign areas (404).
        area = scope(area)
    elif area and not (area.isdigit() and len(area) in (12, 15)):
        msg = "area must be a 12-digit division code"
        raise QueryError(msg)
    if area and places.level_of(area) in ("city", "province"):
        return ""
    return area


def parse_query(args: Arguments, *, scope: Callable[[str], str] | None = None) -> LeadersQuery:
    """A :class:`LeadersQuery` from request-style arguments.

    Parameters
    ----------
    args
        ``kind``, ``status`` (comma-separated or repeated), ``from``, ``to``, ``area``,
        ``layer``, ``unit``, ``gi`` and ``fdr``.
    scope
        Maps the requested area code to the one the caller may see (the web passes
        ``webmap.access.scoped_code``); None leaves it as asked (the command line).

    Raises
    ------
    QueryError
        A parameter that cannot be understood; the message names it.
    """
    layer = _one_of(args, "layer", LAYERS, "heat")
    unit = _one_of(args, "unit", ("", "township", "village"), "")
    gi = _one_of(args, "gi", ("rate", "count"), "rate")
    area = _area(args, scope)
    date_from = parse_date(args.get("from") or "", name="from", end=False)
    date_to = parse_date(args.get("to") or "", name="to", end=True)
    if date_from and date_to and date_from > date_to:
        msg = "the date range is reversed"
        raise QueryError(msg)
    return LeadersQuery(
        kinds=_choices(args, "kind", CASE_KINDS),
        statuses=_choices(args, "status", CASE_STATUSES),
        date_from=date_from,
        date_to=date_to,
        area=area,
        layer=layer,
        unit=unit,
        gi=gi,
        fdr=(args.get("fdr") or "1") not in ("0", "false", "no"),
    )
