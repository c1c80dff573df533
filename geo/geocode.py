"""Geocode free-text Shaoyang addresses to villager groups, villages and townships, in pure Python.

The gazetteer is built once from the units table (city > county > township > village > group,
one or more boundary generations) and then answers each address with a dictionary scan:

1. Normalise (NFKC, drop spaces and punctuation, strip ``中国`` / ``湖南省`` / ``邵阳市``).
2. Scan left to right for the longest known name variant at each position.  Variants are the
   full names, the names with their suffix dropped (``竹市`` for ``竹市镇``, ``田心`` for
   ``田心村``, ``城步`` for ``城步苗族自治县``) and a few spoken alternatives (``居委会`` for
   ``社区``).  Only positions whose first two characters start some variant are probed, so a
   scan costs a handful of dict look-ups, never a loop over units.
3. Resolve: every village the scan saw is ranked by whether a township and a county mentioned
   elsewhere in the address contain it, whether a group number follows it, whether it was
   written in full, and how early it appears.  Equal best candidates that are different villages
   make the answer ``ambiguous`` (with candidate codes) rather than a guess.
4. Read the group number right after the village (``3组``, ``三组``, ``第三村民小组``,
   ``03组``, ``十二组``).
5. Only when no village name is found under a known township (or county), compare the written
   name with the villages there that differ by one character (rapidfuzz Hamming distance).
6. Check: a ``matched`` answer never lies outside a county or township written before it.  When
   they disagree (``城步县…新屋村`` with 新屋村 only in 洞口县), the answer is ``ambiguous``
   with both the village and the place named, for a person to decide.

What else a row and its upload say about the place (a county column, a case number beginning
with a division code, the uploading user's area) comes in as keyword hints to :meth:`geocode`:
they decide only between candidates the text fits equally well, and never override the text.

Units of an inactive generation are indexed only where their name differs from that of their
active successor (a village merged away, ``邵东县`` for ``邵东市``).  When the finest unit named
still exists, the active unit is returned and the old name is noted in ``reason``; when it does
not (a merged-away village), the old unit is returned with its active ``successor_code``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Hamming

from geo.address_text import (
    _CITY,
    _COUNTY,
    _FOREIGN_ANY,
    _FOREIGN_HEAD,
    _GROUP_RE,
    _TOWNSHIP,
    _VILLAGE,
    _VILLAGE_SUFFIXES,
    SHAOYANG_CITY_CODE,
    _chinese_int,
    code_prefix,
    normalise_address,
    parse_group_number,
    strip_suffix,
)
from geo.geocode_answers import LEVEL_REASON, RESULT_COLUMNS, GazetteerAnswers, GeocodeResult

__all__ = ["Gazetteer", "GeocodeResult", "normalise_address", "parse_group_number"]


class Gazetteer(GazetteerAnswers):
    """Name indexes over the units table, answering :meth:`geocode` without a database.

    Build it with :meth:`from_units` (see :class:`geo.gazetteer_index.GazetteerIndex`); the
    answers are made by :class:`geo.geocode_answers.GazetteerAnswers`.
    """

    # ------------------------------------------------------------------ answering
    def geocode(
        self, address: str | None, *, county: str | None = None, area: str | None = None
    ) -> GeocodeResult:
        """Geocode one free-text address.

        Parameters
        ----------
        address : str or None
            As written by people: parts omitted, suffixes dropped, group numbers in any form,
            old names, house numbers and landmarks, the odd typo.
        county : str, optional
            What else the row says about its county: a county column, or the division code a
            case number begins with (6 or 12 digits).  A hint, never a constraint: it decides
            between equally good candidates, and what the address itself names wins over it.
        area : str, optional
            The code of the uploading user's area (any level), used like ``county``.

        Returns
        -------
        GeocodeResult
            Never raises on bad input: empty or unusable text gives ``unmatched``.  A
            ``matched`` answer never lies outside a county or township the address names: when
            they disagree with the village name, the answer is ``ambiguous`` with both.
        """
        text = normalise_address(address)
        if not text:
            return GeocodeResult("unmatched", reason="地址为空")
        if _FOREIGN_HEAD.match(text):
            return GeocodeResult("unmatched", reason="不在邵阳市范围")
        tokens = self._scan(text)
        hints = tuple(p for p in (code_prefix(county), code_prefix(area)) if p)
        result = self._resolve(text, tokens, hints)
        if result is None:
            reason = "不在邵阳市范围" if _FOREIGN_ANY.search(text) else "未找到地址"
            return GeocodeResult("unmatched", reason=reason)
        return result

    def geocode_many(
        self,
        addresses: Iterable[str | None],
        *,
        counties: Iterable[str | None] | None = None,
        area: str | None = None,
    ) -> pd.DataFrame:
        """Geocode many addresses, answering repeated ones from a cache.

        Parameters
        ----------
        addresses : Iterable[str or None]
        counties : Iterable[str or None], optional
            One county hint per address (see :meth:`geocode`), e.g. the first six digits of
            each case number, or a county column (codes or names, see :meth:`county_prefix`).
        area : str, optional
            The uploading user's area code, a hint for every address.

        Returns
        -------
        pandas.DataFrame
            One row per address in input order: ``address`` and the :class:`GeocodeResult`
            fields.
        """
        cache = self._cache
        rows = []
        items = list(addresses)
        hints = [None] * len(items) if counties is None else list(counties)
        if len(hints) != len(items):
            msg = f"{len(hints)} county hints for {len(items)} addresses"
            raise ValueError(msg)
        area_prefix = code_prefix(area)
        prefixes: dict[object, str | None] = {}
        for address, hint in zip(items, hints, strict=True):
            county = (
                prefixes.get(hint)
                if hint in prefixes
                else prefixes.setdefault(hint, self.county_prefix(hint))
            )
            key = (address if isinstance(address, str) else "", county, area_prefix)
            result = cache.get(key)
            if result is None:
                result = self.geocode(address, county=county, area=area_prefix)
                if len(cache) < 1_000_000:
                    cache[key] = result
            rows.append(
                (result.status, result.code, result.level, result.lon, result.lat, result.score,
                 result.reason, result.candidates, result.generation, result.successor_code)
            )  # fmt: skip
        frame = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
        frame.insert(0, "address", pd.Series(items, dtype=object))
        return frame

    def county_prefix(self, hint: object) -> str | None:
        """The code prefix a county hint stands for: a division code or a county's name.

        ``"430525"``, ``"430525000000"`` and ``"洞口县"`` (or ``"洞口"``) all give ``"430525"``;
        a name that is no county, or more than one, gives None.
        """
        prefix = code_prefix(hint)
        if prefix is not None or not isinstance(hint, str):
            return prefix
        hits = self._vocab.get(normalise_address(hint), ())
        counties = {self._canon[u] for u, _full in hits if self._level[u] == _COUNTY}
        if len(counties) != 1:
            return None
        return code_prefix(self._code[counties.pop()])

    def _scan(self, text: str) -> list[tuple[int, int, tuple[tuple[int, bool], ...]]]:
        """Leftmost-longest name variants in ``text`` as (start, end, hits)."""
        vocab = self._vocab
        lengths = self._lengths
        tokens = []
        n = len(text)
        i = 0
        while i < n - 1:
            sizes = lengths.get(text[i : i + 2])
            if sizes is not None:
                for size in sizes:
                    if i + size <= n:
                        hits = vocab.get(text[i : i + size])
                        if hits is not None:
                            tokens.append((i, i + size, hits))
                            i += size
                            break
                else:
                    i += 1
            else:
                i += 1
        return tokens

    def _resolve(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        hints: tuple[str, ...] = (),
    ) -> GeocodeResult | None:
        level = self._level
        canon = self._canon
        # What each token could stand for, by level (active equivalents).
        counties: dict[int, set[int]] = {}
        townships: dict[int, set[int]] = {}
        city_seen = False
        for t, (_, _, hits) in enumerate(tokens):
            for u, _full in hits:
                lvl = level[u]
                if lvl == _COUNTY:
                    counties.setdefault(t, set()).add(canon[u])
                elif lvl == _TOWNSHIP:
                    townships.setdefault(t, set()).add(canon[u])
                elif lvl == _CITY:
                    city_seen = True

        best_key, best, beaten = self._rank_villages(text, tokens, townships, counties, hints)
        if best_key is not None:
            t_match, c_match = best_key[0], best_key[1]
            # A named township that contains none of the villages seen: the village name may
            # be misspelt, so look under the township before trusting a village elsewhere.
            if not t_match and townships:
                fuzzy = self._fuzzy_under_context(text, tokens, townships, counties, hints)
                if fuzzy is not None:
                    return fuzzy
            by_hint = best_key[2] and any(k[:2] == best_key[:2] and not k[2] for k in beaten)
            note = "（据行政区提示确定）" if by_hint else ""
            return self._village_answer(
                text, tokens, best, t_match=t_match, c_match=c_match, note=note
            )

        return self._coarse_answer(text, tokens, townships, counties, hints, city_seen=city_seen)

    def _rank_villages(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
        hints: tuple[str, ...],
    ) -> tuple[tuple[Any, ...] | None, list[tuple[int, int, int | None]], list[tuple[Any, ...]]]:
        """The best key, the villages that share it and the keys of those beaten (with hints)."""
        level = self._level
        canon = self._canon
        best_key: tuple[Any, ...] | None = None
        best: list[tuple[int, int, int | None]] = []  # (unit, token, group number)
        beaten: list[tuple[Any, ...]] = []  # keys of the villages that lost, to see what decided
        for t, (start, end, hits) in enumerate(tokens):
            group_no: int | None = None
            group_checked = False
            for u, full in hits:
                if level[u] != _VILLAGE:
                    continue
                if not group_checked:
                    group_no = self._group_after(text, end)
                    group_checked = True
                parent = self._parent[u]
                township = canon[parent] if parent >= 0 else -1
                county = self._county[u]
                t_match = any(township in s for k, s in townships.items() if k != t)
                c_match = any(county in s for k, s in counties.items() if k != t)
                # What the address says comes first; the row's and upload's hints only decide
                # between villages the text fits equally well.
                hinted = bool(hints) and self._inside(u, hints)
                key = (t_match, c_match, hinted, group_no is not None, full, -start,
                       self._active[u])  # fmt: skip
                if best_key is None or key > best_key:
                    if hints and best_key is not None:
                        beaten.append(best_key)
                    best_key = key
                    best = [(u, t, group_no)]
                elif key == best_key:
                    best.append((u, t, group_no))
                elif hints:
                    beaten.append(key)

        return best_key, best, beaten

    def _coarse_answer(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
        hints: tuple[str, ...],
        *,
        city_seen: bool,
    ) -> GeocodeResult | None:
        """No village name found: a misspelt one, else the township, county or city."""
        level = self._level
        fuzzy = self._fuzzy_under_context(text, tokens, townships, counties, hints)
        if fuzzy is not None:
            return fuzzy
        if townships:
            return self._township_answer(tokens, townships, counties, hints)
        if counties:
            found = sorted(set().union(*counties.values()))
            inside = [u for u in found if self._inside(u, hints)]
            if len(found) > 1 and len(inside) == 1:
                found = inside
            if len(found) == 1:
                return self._answer(found[0], score=0.3, reason=LEVEL_REASON[_COUNTY])
            return self._ambiguous(found, "县市区名不唯一")
        if city_seen:
            city = next((i for i, lvl in enumerate(level) if lvl == _CITY and self._active[i]), -1)
            if city >= 0:
                return self._answer(city, score=0.1, reason=LEVEL_REASON[_CITY])
            return GeocodeResult("matched", code=SHAOYANG_CITY_CODE, level="city", score=0.1,
                                 reason=LEVEL_REASON[_CITY], generation=self.active_generation)  # fmt: skip
        return None

    def _village_answer(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        best: list[tuple[int, int, int | None]],
        *,
        t_match: bool,
        c_match: bool,
        note: str = "",
    ) -> GeocodeResult:
        score = 1.0 if t_match else (0.9 if c_match else 0.8)
        distinct: dict[int, tuple[int, int | None]] = {}
        for u, t, group_no in best:
            distinct.setdefault(u, (t, group_no))
        if len(distinct) > 1:
            kept = self._drop_predecessors(list(distinct))
            distinct = {u: distinct[u] for u in kept}
        if len(distinct) > 1:
            codes = []
            for u, (_, group_no) in distinct.items():
                g = self._groups.get((u, group_no)) if group_no is not None else None
                codes.append(g if g is not None else u)
            if not t_match and not c_match:
                reason = "村名在多个乡镇重复，缺少乡镇"
            elif not t_match:
                reason = "村名在本县多个乡镇重复，缺少乡镇"
            else:
                reason = "乡镇名重复，村名在多个同名乡镇下都有，缺少县市区"
            return self._ambiguous(codes, reason)
        u, (t, group_no) = next(iter(distinct.items()))
        named = self._contradicted(u, tokens[t][0], tokens)
        if named:
            # 洞口县…老坪村 where 老坪村 lies in another county: the writer may have the county
            # or the village wrong, so a person decides between both.
            g = self._groups.get((u, group_no)) if group_no is not None else None
            places = "、".join(dict.fromkeys(self._name[p] for p in named))
            reason = f"{self._name[u]}不在地址所写的{places}内"
            return self._ambiguous([g if g is not None else u, *named], reason)
        if not any(full for v, full in tokens[t][2] if v == u):
            score -= 0.05
        note = self._old_names(tokens, u) + note
        return self._finish_village(u, group_no, score=score, note=note)

    def _township_answer(
        self,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
        hints: tuple[str, ...] = (),
    ) -> GeocodeResult:
        best_key: tuple[Any, ...] | None = None
        best: set[int] = set()
        best_token = -1
        for t, found in townships.items():
            start = tokens[t][0]
            for u in found:
                c_match = any(self._county[u] in s for k, s in counties.items() if k != t)
                key = (c_match, self._inside(u, hints), -start)
                if best_key is None or key > best_key:
                    best_key, best, best_token = key, {u}, t
                elif key == best_key:
                    best.add(u)
        if len(best) > 1:
            return self._ambiguous(sorted(best), "乡镇名在多个县重复，缺少县市区")
        township = best.pop()
        named = self._contradicted(township, tokens[best_token][0], tokens)
        if named:
            places = "、".join(dict.fromkeys(self._name[p] for p in named))
            return self._ambiguous(
                [township, *named], f"{self._name[township]}不在地址所写的{places}内"
            )
        return self._answer(township, score=0.5, reason=LEVEL_REASON[_TOWNSHIP])

    def _fuzzy_under_context(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
        hints: tuple[str, ...] = (),
    ) -> GeocodeResult | None:
        """Find a village one character off its real name, under a township (or county) named.

        Only a name closed by a village suffix or followed by a group number is tried, so
        landmarks (``中学对面``) are never read as villages.  Of several such villages, the
        one inside the hinted area (see :meth:`geocode`) is taken when it is the only one.
        """
        parents: list[tuple[int, list[int]]] = []  # (end of parent token, villages)
        named_counties = set().union(*counties.values()) if counties else set()
        for t, found in townships.items():
            if len(found) > 1 and named_counties:
                found = {u for u in found if self._county[u] in named_counties}
            if len(found) == 1:
                parents.append((tokens[t][1], self._children.get(next(iter(found)), [])))
        if not parents:
            for t, found in counties.items():
                if len(found) == 1:
                    parents.append((tokens[t][1], self._county_villages.get(next(iter(found)), [])))
        if not parents and not townships and not counties:
            # Nothing named: a county hint (county column, case number) is the place to look.
            for county in self._county_villages:
                if self._inside(county, hints):
                    parents.append((0, self._county_villages[county]))
        for end, villages in parents:
            written, group_no = self._village_segment(text, end)
            if written is None or not villages:
                continue
            core, _has_suffix = written
            if len(core) < 2:
                continue
            names = {}
            for v in villages:
                if self._level[v] != _VILLAGE:
                    continue
                full_core, _ = strip_suffix(self._name[v], _VILLAGE_SUFFIXES)
                if len(full_core) == len(core):
                    names[v] = full_core
            if not names:
                continue
            hits = process.extract(core, names, scorer=Hamming.distance, score_cutoff=1,
                                   limit=None)  # fmt: skip
            hits = [h for h in hits if h[1] == 1]
            hits = self._narrow_fuzzy_hits(hits, group_no, hints)
            if len(hits) == 1:
                village = hits[0][2]
                named = self._contradicted(village, end, tokens)
                if named:
                    places = "、".join(dict.fromkeys(self._name[p] for p in named))
                    reason = f"{self._name[village]}不在地址所写的{places}内"
                    return self._ambiguous([village, *named], reason)
                how = f"村名模糊匹配（{core}→{names[village]}），"
                return self._finish_village(village, group_no, score=0.7, how=how)
            if len(hits) > 1:
                return self._ambiguous([h[2] for h in hits], f"村名“{core}”与多个村相差一字")
        return None

    def _narrow_fuzzy_hits(
        self, hits: list[tuple[Any, ...]], group_no: int | None, hints: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        """Of the villages one character off, those that can be meant."""
        kept = set(self._drop_predecessors([h[2] for h in hits]))
        # One code in two generations (a village renamed by one character) is one place.
        by_code: dict[str, int] = {}
        for h in hits:
            if h[2] in kept:
                other = by_code.get(self._code[h[2]])
                if other is None or (self._active[h[2]] and not self._active[other]):
                    by_code[self._code[h[2]]] = h[2]
        hits = [h for h in hits if h[2] in set(by_code.values())]
        if len(hits) > 1 and group_no is not None:
            # Only villages that have the group written can be meant.
            with_group = [h for h in hits if (h[2], group_no) in self._groups]
            hits = with_group or hits
        if len(hits) > 1 and hints:
            inside = [h for h in hits if self._inside(h[2], hints)]
            hits = inside if len(inside) == 1 else hits
        return hits

    def _village_segment(self, text: str, end: int) -> tuple[tuple[str, bool] | None, int | None]:
        """The village name written after a parent ending at ``end``, and the group after it."""
        rest = text[end:]
        for suffix in _VILLAGE_SUFFIXES:
            k = rest.find(suffix)
            if 0 < k <= 6:
                return (rest[:k], True), self._group_after(text, end + k + len(suffix))
        match = _GROUP_RE.search(rest, 0, 12)
        if match is not None and 2 <= match.start() <= 6:
            number = _chinese_int(match.group(1))
            return (rest[: match.start()], False), number or None
        return None, None
