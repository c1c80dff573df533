"""What the geocoder answers: :class:`GeocodeResult`, and how units become one.

:class:`GazetteerAnswers` sits between the name indexes (:mod:`geo.gazetteer_index`) and the
matching (:mod:`geo.geocode`): it turns a unit into a ``matched`` answer (noting an old unit
and its successor), a set of candidates into an ``ambiguous`` one (with the finest unit they
share), and answers the questions about units that matching asks (inside a hinted area?
contradicted by a place written before it? the group number after a name).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from geo.address_text import (
    _CITY,
    _COUNTY,
    _GROUP,
    _GROUP_GAP,
    _GROUP_RE,
    _TOWNSHIP,
    _VILLAGE,
    LEVELS,
    _chinese_int,
)
from geo.gazetteer_index import GazetteerIndex

__all__ = ["LEVEL_REASON", "RESULT_COLUMNS", "GazetteerAnswers", "GeocodeResult"]


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """The answer for one address.

    Attributes
    ----------
    status : str
        ``"matched"``, ``"ambiguous"`` or ``"unmatched"``.
    code : str or None
        Code of the unit found; for ``ambiguous`` the finest unit that all candidates share.
    level : str or None
        Level of ``code`` (``"city"`` .. ``"group"``): the finest level reached.
    lon, lat : float or None
        Representative point of ``code`` (EPSG:4326).
    score : float
        Confidence 0..1.
    reason : str
        Short human explanation (Chinese).
    candidates : tuple of str
        Codes of the equally good units when ``ambiguous``.
    generation : str or None
        Boundary generation of ``code``.
    successor_code : str or None
        Active-generation unit that contains ``code`` when ``code`` is historic.
    """

    status: str
    code: str | None = None
    level: str | None = None
    lon: float | None = None
    lat: float | None = None
    score: float = 0.0
    reason: str = ""
    candidates: tuple[str, ...] = ()
    generation: str | None = None
    successor_code: str | None = None


RESULT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(GeocodeResult))


LEVEL_REASON = {
    _GROUP: "匹配到村民小组",
    _VILLAGE: "匹配到村（社区）",
    _TOWNSHIP: "仅匹配到乡镇（街道）",
    _COUNTY: "仅匹配到县市区",
    _CITY: "仅匹配到市",
}


class GazetteerAnswers(GazetteerIndex):
    """The name indexes plus the building of answers; :class:`geo.geocode.Gazetteer` matches."""

    def _inside(self, unit: int, hints: tuple[str, ...]) -> bool:
        """Whether ``unit`` (or its active equivalent) lies inside every hinted area."""
        if not hints:
            return False
        codes = (self._code[unit], self._code[self._canon[unit]])
        return all(any(c.startswith(h) for c in codes) for h in hints)

    def _contradicted(
        self, unit: int, before: int, tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]]
    ) -> list[int]:
        """Counties and townships written before text position ``before`` that miss ``unit``.

        Each earlier token that can stand for a county or township must be satisfied by one
        of the unit's ancestors; the units of a token that is not are returned.
        """
        ancestors = set()
        j = self._parent[unit]
        while j >= 0:
            ancestors.add(self._canon[j])
            j = self._parent[j]
        named: list[int] = []
        for s, _e, hits in tokens:
            if s >= before:
                break
            places = {self._canon[u] for u, _f in hits if self._level[u] in (_COUNTY, _TOWNSHIP)}
            if places and not places & ancestors:
                named.extend(sorted(places))
        return named

    def _group_after(self, text: str, end: int) -> int | None:
        match = _GROUP_RE.search(text, end, end + _GROUP_GAP + 8)
        if match is None or match.start() - end > _GROUP_GAP:
            return None
        number = _chinese_int(match.group(1))
        return number if number else None

    def _drop_predecessors(self, units: list[int]) -> list[int]:
        """Drop historic units whose active successor is also among ``units``: one place."""
        present = set(units)
        return [u for u in units if self._canon[u] == u or self._canon[u] not in present]

    def _finish_village(
        self, village: int, group_no: int | None, *, score: float, note: str = "", how: str = ""
    ) -> GeocodeResult:
        if group_no is not None:
            group = self._groups.get((village, group_no))
            if group is not None:
                return self._answer(group, score=score, reason=how + LEVEL_REASON[_GROUP] + note)
            reason = f"{how}匹配到村（社区），但无第{group_no}组{note}"
            return self._answer(village, score=score - 0.1, reason=reason)
        return self._answer(village, score=score, reason=how + LEVEL_REASON[_VILLAGE] + note)

    def _old_names(
        self, tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]], unit: int
    ) -> str:
        """Name the historic ancestors written in the address (``邵东县``) for the reason."""
        ancestors = set()
        j = self._parent[unit]
        while j >= 0:
            ancestors.add(self._canon[j])
            j = self._parent[j]
        old = []
        for _, _, hits in tokens:
            for u, _full in hits:
                if not self._active[u] and self._canon[u] != u and self._canon[u] in ancestors:
                    old.append(self._name[u])
                    break
        return f"（旧称：{'、'.join(dict.fromkeys(old))}）" if old else ""

    def _answer(self, unit: int, *, score: float, reason: str) -> GeocodeResult:
        successor = None
        if not self._active[unit]:
            canon = self._canon[unit]
            if canon == unit and self._level[unit] == _GROUP:
                # A historic group without its own successor still lies in its village's.
                village = self._parent[unit]
                canon = self._canon[village] if village >= 0 else unit
            if canon != unit and self._active[canon]:
                successor = self._code[canon]
                reason += f"（旧单位，现属{self._name[canon]}）"
            else:
                reason += "（旧单位，现无对应单位）"
        return GeocodeResult(
            "matched",
            code=self._code[unit],
            level=LEVELS[self._level[unit]],
            lon=self._lon[unit],
            lat=self._lat[unit],
            score=round(max(0.0, min(1.0, score)), 3),
            reason=reason,
            generation=self._generation[unit],
            successor_code=successor,
        )

    def _ambiguous(self, units: list[int], reason: str) -> GeocodeResult:
        codes = tuple(dict.fromkeys(self._code[u] for u in units))
        # The finest unit every candidate lies in, so callers still get a township or county.
        chains = []
        for u in units:
            chain = []
            j = self._parent[u]
            while j >= 0:
                chain.append(self._canon[j])
                j = self._parent[j]
            chains.append(chain)
        common = set(chains[0]).intersection(*chains[1:]) if chains else set()
        shared = max(common, key=lambda j: self._level[j]) if common else -1
        if shared < 0 or self._level[shared] == _CITY:
            return GeocodeResult("ambiguous", reason=reason, candidates=codes, score=0.0)
        return GeocodeResult(
            "ambiguous",
            code=self._code[shared],
            level=LEVELS[self._level[shared]],
            lon=self._lon[shared],
            lat=self._lat[shared],
            score=0.0,
            reason=reason,
            candidates=codes,
            generation=self._generation[shared],
        )
