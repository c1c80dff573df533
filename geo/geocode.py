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

Units of an inactive generation are indexed only where their name differs from that of their
active successor (a village merged away, ``邵东县`` for ``邵东市``).  When the finest unit named
still exists, the active unit is returned and the old name is noted in ``reason``; when it does
not (a merged-away village), the old unit is returned with its active ``successor_code``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Hamming

__all__ = ["Gazetteer", "GeocodeResult", "normalise_address", "parse_group_number"]

LEVELS: tuple[str, ...] = ("city", "county", "township", "village", "group")
_CITY, _COUNTY, _TOWNSHIP, _VILLAGE, _GROUP = range(5)
SHAOYANG_CITY_CODE = "430500000000"

# Longest first: the first suffix that fits is the one dropped.
_COUNTY_SUFFIXES = ("苗族自治县", "自治县", "县", "市", "区")
_TOWNSHIP_SUFFIXES = ("街道办事处", "办事处", "街道", "镇", "乡")
_VILLAGE_SUFFIXES = ("居民委员会", "村民委员会", "居委会", "村委会", "社区", "村")
_ETHNIC_TOWNSHIP = re.compile(r"^(.+?)((?:[\u4e00-\u9fff]{1,2}族)+)乡$")

_PUNCT = re.compile(r"[\s,，。.、;；:：!！?？'\"“”‘’()（）\[\]【】<>《》{}\-—_/\\|#*~·]+")
_PREFIX = re.compile(r"^(?:中华人民共和国|中国)?(?:湖南省|湖南)?")
_GROUP_RE = re.compile(
    r"第?([0-9]{1,3}|[零〇一二两三四五六七八九十百]{1,6})(?:村民小组|村民组|小组|组|队)"
)
# A group number may sit a few characters after the village name (``田心村委会3组``).
_GROUP_GAP = 3

_PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "广东", "广西", "海南", "重庆", "四川",
    "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "台湾", "香港", "澳门",
)  # fmt: skip
_HUNAN_OTHER_CITIES = (
    "长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德", "张家界", "益阳", "郴州", "永州", "怀化",
    "娄底", "湘西",
)  # fmt: skip
_FOREIGN_NAMES = _PROVINCES + _HUNAN_OTHER_CITIES + ("广州", "深圳", "东莞", "武汉", "杭州")
# A bare place name could be a village (长沙村); followed by one of these it cannot.
_FOREIGN_HEAD = re.compile(
    "^(?:" + "|".join(_FOREIGN_NAMES) + r")(?:省|市|自治区|自治州|州|地区|县|区|壮族|回族|维吾尔)"
)
_FOREIGN_ANY = re.compile("|".join(_FOREIGN_NAMES))

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip


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


def normalise_address(address: object) -> str:
    """Return the address NFKC-normalised, without spaces, punctuation or province prefix.

    Parameters
    ----------
    address : object
        Anything; non-strings give ``""``.

    Returns
    -------
    str
        The cleaned text (full-width digits become ASCII digits).

    Examples
    --------
    >>> normalise_address(" 湖南省 邵阳市，洞口县 ３组 ")
    '邵阳市洞口县3组'
    """
    if not isinstance(address, str):
        return ""
    text = _PUNCT.sub("", unicodedata.normalize("NFKC", address))
    return _PREFIX.sub("", text, count=1)


def _chinese_int(text: str) -> int | None:
    """Read ``3``, ``03``, ``三``, ``十二``, ``二十``, ``二十三`` or ``〇三`` as an int."""
    if text.isdigit():
        return int(text)
    if "百" in text:
        head, _, tail = text.partition("百")
        hundreds = _CN_DIGITS.get(head, -1) if len(head) == 1 else -1
        rest = _chinese_int(tail.lstrip("零〇")) if tail.lstrip("零〇") else 0
        if hundreds < 0 or rest is None:
            return None
        return hundreds * 100 + rest
    if "十" in text:
        head, _, tail = text.partition("十")
        if "十" in tail or len(head) > 1 or len(tail) > 1:
            return None
        tens = _CN_DIGITS.get(head, -1) if head else 1
        units = _CN_DIGITS.get(tail, -1) if tail else 0
        if tens < 0 or units < 0:
            return None
        return tens * 10 + units
    value = 0
    for char in text:
        digit = _CN_DIGITS.get(char)
        if digit is None:
            return None
        value = value * 10 + digit
    return value


def parse_group_number(text: str) -> int | None:
    """Return the villager-group number written at the start of ``text``, if any.

    Parameters
    ----------
    text : str
        Normalised text, e.g. ``"第三村民小组"``, ``"03组"``, ``"十二组"``.

    Returns
    -------
    int or None
        The group number, or None when ``text`` does not start with one.

    Examples
    --------
    >>> parse_group_number("第十二村民小组"), parse_group_number("03组"), parse_group_number("门口")
    (12, 3, None)
    """
    match = _GROUP_RE.match(text)
    if match is None:
        return None
    number = _chinese_int(match.group(1))
    return number if number else None


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> tuple[str, str]:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _name_variants(name: str, level: int) -> list[tuple[str, bool]]:
    """Spellings of one unit's name people use, each flagged True if it is the full name."""
    variants = [(name, True)]
    if level == _COUNTY:
        core, _ = _strip_suffix(name, _COUNTY_SUFFIXES)
        variants.append((core, False))
        if name.endswith("自治县"):
            variants.append((core + "县", False))
    elif level == _TOWNSHIP:
        ethnic = _ETHNIC_TOWNSHIP.match(name)
        if ethnic:
            core = ethnic.group(1)
            variants += [(core, False), (core + "乡", False), (core + ethnic.group(2), False)]
        else:
            core, suffix = _strip_suffix(name, _TOWNSHIP_SUFFIXES)
            variants.append((core, False))
            if suffix == "街道":
                variants += [(core + "街道办事处", True), (core + "办事处", True)]
                variants.append((core + "街道办", True))
            elif suffix in ("镇", "乡"):
                # Many 乡 became 镇 (and people still say the old one).
                variants.append((core + ("乡" if suffix == "镇" else "镇"), False))
    elif level == _VILLAGE:
        core, suffix = _strip_suffix(name, _VILLAGE_SUFFIXES)
        variants.append((core, False))
        if suffix in ("社区", "居委会", "居民委员会"):
            variants += [(core + "社区", True), (core + "居委会", True)]
        elif suffix == "村":
            variants.append((core + "村委会", True))
    elif level == _CITY:
        core, _ = _strip_suffix(name, ("市",))
        variants.append((core, False))
    # One character is too common to stand for a place.
    return [(v, full) for v, full in dict.fromkeys(variants) if len(v) >= 2]


_LEVEL_REASON = {
    _GROUP: "匹配到村民小组",
    _VILLAGE: "匹配到村（社区）",
    _TOWNSHIP: "仅匹配到乡镇（街道）",
    _COUNTY: "仅匹配到县市区",
    _CITY: "仅匹配到市",
}


class Gazetteer:
    """Name indexes over the units table, answering :meth:`geocode` without a database.

    Build it with :meth:`from_units`.
    """

    def __init__(self) -> None:
        self.active_generation: str = ""
        self._code: list[str] = []
        self._name: list[str] = []
        self._level: list[int] = []
        self._parent: list[int] = []
        self._canon: list[int] = []
        self._county: list[int] = []
        self._lon: list[float | None] = []
        self._lat: list[float | None] = []
        self._generation: list[str] = []
        self._active: list[bool] = []
        self._vocab: dict[str, tuple[tuple[int, bool], ...]] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._groups: dict[tuple[int, int], int] = {}
        self._children: dict[int, list[int]] = {}
        self._county_villages: dict[int, list[int]] = {}
        self._cache: dict[str, GeocodeResult] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def from_units(
        cls,
        units: pd.DataFrame,
        *,
        active_generation: str,
        successors: Mapping[str, str] | None = None,
    ) -> Gazetteer:
        """Build the gazetteer from a units table.

        Parameters
        ----------
        units : pandas.DataFrame
            Columns ``generation, level, code, name, parent_code, county_code, lon, lat`` and
            optionally ``successor_code`` (active-generation unit containing a historic unit).
        active_generation : str
            The generation whose units are current.
        successors : Mapping[str, str], optional
            Historic code -> active code, used where ``successor_code`` is absent or empty.
            Historic units with neither get the active unit with the same code, or else the
            active unit of the same name under the same (active) parent.

        Returns
        -------
        Gazetteer
        """
        required = {"generation", "level", "code", "name", "parent_code", "lon", "lat"}
        missing = required - set(units.columns)
        if missing:
            msg = f"units table lacks columns: {sorted(missing)}"
            raise ValueError(msg)
        generations = units["generation"].astype(str)
        if not (generations == str(active_generation)).any():
            msg = f"no units of the active generation {active_generation!r}"
            raise ValueError(msg)
        self = cls()
        self.active_generation = str(active_generation)
        self._load_units(units, generations, successors or {})
        self._build_indexes()
        return self

    def _load_units(
        self, units: pd.DataFrame, generations: pd.Series, successors: Mapping[str, str]
    ) -> None:
        level_of = {name: i for i, name in enumerate(LEVELS)}
        levels = units["level"].map(level_of)
        if levels.isna().any():
            bad = sorted(set(units.loc[levels.isna(), "level"].astype(str)))
            msg = f"unknown unit levels: {bad}"
            raise ValueError(msg)
        succ_col = (
            units["successor_code"].tolist()
            if "successor_code" in units.columns
            else [None] * len(units)
        )
        # Parents first, so each unit's parent (and its canonical form) is known when it comes.
        order = levels.to_numpy().argsort(kind="stable")
        cols = {c: units[c].tolist() for c in ("code", "name", "parent_code", "lon", "lat")}
        gens = generations.tolist()
        lvls = levels.astype(int).tolist()
        index: dict[tuple[str, str], int] = {}
        active_by_code: dict[str, int] = {}
        active_child_by_name: dict[tuple[int, str], int] = {}
        pending_succ: list[tuple[int, str | None]] = []
        for row in order.tolist():
            code = str(cols["code"][row])
            gen = gens[row]
            level = lvls[row]
            parent_code = cols["parent_code"][row]
            parent = index.get((gen, str(parent_code)), -1) if isinstance(parent_code, str) else -1
            i = len(self._code)
            self._code.append(code)
            self._name.append(str(cols["name"][row]))
            self._level.append(level)
            self._parent.append(parent)
            self._lon.append(_as_float(cols["lon"][row]))
            self._lat.append(_as_float(cols["lat"][row]))
            self._generation.append(gen)
            is_active = gen == self.active_generation
            self._active.append(is_active)
            index[(gen, code)] = i
            if is_active:
                active_by_code[code] = i
                self._canon.append(i)
                if parent >= 0:
                    active_child_by_name[(parent, self._name[i])] = i
                    # 邵东县 -> 邵东市: a county or township renamed only in its suffix.
                    core = _core_name(self._name[i], level)
                    key = (parent, "core:" + core)
                    active_child_by_name[key] = -2 if key in active_child_by_name else i
            else:
                self._canon.append(-1)
                succ = succ_col[row]
                succ = succ if isinstance(succ, str) and succ else successors.get(code)
                pending_succ.append((i, succ))
        # Historic units in parent-first order: a fallback by name needs the parent's canon.
        for i, succ in pending_succ:
            canon = active_by_code.get(succ, -1) if succ else -1
            if canon < 0 and not succ:
                canon = active_by_code.get(self._code[i], -1)
                if canon < 0:
                    parent = self._parent[i]
                    parent_canon = self._canon[parent] if parent >= 0 else -1
                    if parent_canon >= 0:
                        canon = active_child_by_name.get((parent_canon, self._name[i]), -1)
                        if canon < 0 and self._level[i] in (_COUNTY, _TOWNSHIP):
                            core = _core_name(self._name[i], self._level[i])
                            canon = active_child_by_name.get((parent_canon, "core:" + core), -1)
            # A historic unit with no active equivalent stands for itself.
            self._canon[i] = canon if canon >= 0 else i
        for i in range(len(self._code)):
            j = i
            while j >= 0 and self._level[j] > _COUNTY:
                j = self._parent[j]
            self._county.append(self._canon[j] if j >= 0 and self._level[j] == _COUNTY else -1)

    def _build_indexes(self) -> None:
        vocab: dict[str, list[tuple[int, bool]]] = {}
        for i, level in enumerate(self._level):
            if level == _GROUP:
                village = self._parent[i]
                number = _group_number(self._code[i], self._name[i])
                if village >= 0 and number is not None:
                    self._groups[(village, number)] = i
                continue
            canon = self._canon[i]
            # A historic unit whose name lives on in its successor adds nothing to look up.
            if canon != i and self._name[canon] == self._name[i]:
                continue
            if level in (_TOWNSHIP, _VILLAGE) and self._parent[i] >= 0:
                self._children.setdefault(self._canon[self._parent[i]], []).append(i)
            if level == _VILLAGE and self._county[i] >= 0:
                self._county_villages.setdefault(self._county[i], []).append(i)
            for variant, full in _name_variants(self._name[i], level):
                vocab.setdefault(variant, []).append((i, full))
        city_short = {v for i, lvl in enumerate(self._level) if lvl == _CITY
                      for v, _ in _name_variants(self._name[i], _CITY)}  # fmt: skip
        city_short |= {"邵阳市", "邵阳"}
        for variant, hits in vocab.items():
            # ``邵阳`` is the city, not 邵阳县, unless written in full.
            if variant in city_short:
                hits[:] = [h for h in hits if h[1] or self._level[h[0]] == _CITY]
        self._vocab = {k: tuple(v) for k, v in vocab.items() if v}
        lengths: dict[str, set[int]] = {}
        for variant in self._vocab:
            lengths.setdefault(variant[:2], set()).add(len(variant))
        self._lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}

    # ------------------------------------------------------------------ answering
    def geocode(self, address: str | None) -> GeocodeResult:
        """Geocode one free-text address.

        Parameters
        ----------
        address : str or None
            As written by people: parts omitted, suffixes dropped, group numbers in any form,
            old names, house numbers and landmarks, the odd typo.

        Returns
        -------
        GeocodeResult
            Never raises on bad input: empty or unusable text gives ``unmatched``.
        """
        text = normalise_address(address)
        if not text:
            return GeocodeResult("unmatched", reason="地址为空")
        if _FOREIGN_HEAD.match(text):
            return GeocodeResult("unmatched", reason="不在邵阳市范围")
        tokens = self._scan(text)
        result = self._resolve(text, tokens)
        if result is None:
            reason = "不在邵阳市范围" if _FOREIGN_ANY.search(text) else "未找到地址"
            return GeocodeResult("unmatched", reason=reason)
        return result

    def geocode_many(self, addresses: Iterable[str | None]) -> pd.DataFrame:
        """Geocode many addresses, answering repeated ones from a cache.

        Parameters
        ----------
        addresses : Iterable[str or None]

        Returns
        -------
        pandas.DataFrame
            One row per address in input order: ``address`` and the :class:`GeocodeResult`
            fields.
        """
        cache = self._cache
        rows = []
        items = list(addresses)
        for address in items:
            key = address if isinstance(address, str) else ""
            result = cache.get(key)
            if result is None:
                result = self.geocode(address)
                if len(cache) < 1_000_000:
                    cache[key] = result
            rows.append(
                (result.status, result.code, result.level, result.lon, result.lat, result.score,
                 result.reason, result.candidates, result.generation, result.successor_code)
            )  # fmt: skip
        frame = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
        frame.insert(0, "address", pd.Series(items, dtype=object))
        return frame

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
        self, text: str, tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]]
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

        best_key: tuple | None = None
        best: list[tuple[int, int, int | None]] = []  # (unit, token, group number)
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
                key = (t_match, c_match, group_no is not None, full, -start, self._active[u])
                if best_key is None or key > best_key:
                    best_key = key
                    best = [(u, t, group_no)]
                elif key == best_key:
                    best.append((u, t, group_no))

        if best_key is not None:
            t_match, c_match = best_key[0], best_key[1]
            # A named township that contains none of the villages seen: the village name may
            # be misspelt, so look under the township before trusting a village elsewhere.
            if not t_match and townships:
                fuzzy = self._fuzzy_under_context(text, tokens, townships, counties)
                if fuzzy is not None:
                    return fuzzy
            return self._village_answer(text, tokens, best, t_match=t_match, c_match=c_match)

        fuzzy = self._fuzzy_under_context(text, tokens, townships, counties)
        if fuzzy is not None:
            return fuzzy
        if townships:
            return self._township_answer(tokens, townships, counties)
        if counties:
            found = sorted(set().union(*counties.values()))
            if len(found) == 1:
                return self._answer(found[0], score=0.3, reason=_LEVEL_REASON[_COUNTY])
            return self._ambiguous(found, "县市区名不唯一")
        if city_seen:
            city = next((i for i, lvl in enumerate(level) if lvl == _CITY and self._active[i]), -1)
            if city >= 0:
                return self._answer(city, score=0.1, reason=_LEVEL_REASON[_CITY])
            return GeocodeResult("matched", code=SHAOYANG_CITY_CODE, level="city", score=0.1,
                                 reason=_LEVEL_REASON[_CITY], generation=self.active_generation)  # fmt: skip
        return None

    def _group_after(self, text: str, end: int) -> int | None:
        match = _GROUP_RE.search(text, end, end + _GROUP_GAP + 8)
        if match is None or match.start() - end > _GROUP_GAP:
            return None
        number = _chinese_int(match.group(1))
        return number if number else None

    def _village_answer(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        best: list[tuple[int, int, int | None]],
        *,
        t_match: bool,
        c_match: bool,
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
        if not any(full for v, full in tokens[t][2] if v == u):
            score -= 0.05
        return self._finish_village(u, group_no, score=score, note=self._old_names(tokens, u))

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
                return self._answer(group, score=score, reason=how + _LEVEL_REASON[_GROUP] + note)
            reason = f"{how}匹配到村（社区），但无第{group_no}组{note}"
            return self._answer(village, score=score - 0.1, reason=reason)
        return self._answer(village, score=score, reason=how + _LEVEL_REASON[_VILLAGE] + note)

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

    def _township_answer(
        self,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
    ) -> GeocodeResult:
        best_key: tuple | None = None
        best: set[int] = set()
        for t, found in townships.items():
            start = tokens[t][0]
            for u in found:
                c_match = any(self._county[u] in s for k, s in counties.items() if k != t)
                key = (c_match, -start)
                if best_key is None or key > best_key:
                    best_key, best = key, {u}
                elif key == best_key:
                    best.add(u)
        if len(best) > 1:
            return self._ambiguous(sorted(best), "乡镇名在多个县重复，缺少县市区")
        return self._answer(best.pop(), score=0.5, reason=_LEVEL_REASON[_TOWNSHIP])

    def _fuzzy_under_context(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[tuple[int, bool], ...]]],
        townships: dict[int, set[int]],
        counties: dict[int, set[int]],
    ) -> GeocodeResult | None:
        """Find a village one character off its real name, under a township (or county) named.

        Only a name closed by a village suffix or followed by a group number is tried, so
        landmarks (``中学对面``) are never read as villages.
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
                full_core, _ = _strip_suffix(self._name[v], _VILLAGE_SUFFIXES)
                if len(full_core) == len(core):
                    names[v] = full_core
            if not names:
                continue
            hits = process.extract(core, names, scorer=Hamming.distance, score_cutoff=1,
                                   limit=None)  # fmt: skip
            hits = [h for h in hits if h[1] == 1]
            kept = set(self._drop_predecessors([h[2] for h in hits]))
            hits = [h for h in hits if h[2] in kept]
            if len(hits) > 1 and group_no is not None:
                # Only villages that have the group written can be meant.
                with_group = [h for h in hits if (h[2], group_no) in self._groups]
                hits = with_group or hits
            if len(hits) == 1:
                village = hits[0][2]
                how = f"村名模糊匹配（{core}→{names[village]}），"
                return self._finish_village(village, group_no, score=0.7, how=how)
            if len(hits) > 1:
                return self._ambiguous([h[2] for h in hits], f"村名“{core}”与多个村相差一字")
        return None

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


def _core_name(name: str, level: int) -> str:
    suffixes = {_COUNTY: _COUNTY_SUFFIXES, _TOWNSHIP: _TOWNSHIP_SUFFIXES}.get(
        level, _VILLAGE_SUFFIXES
    )
    return _strip_suffix(name, suffixes)[0]


def _group_number(code: str, name: str) -> int | None:
    if len(code) == 15 and code[-3:].isdigit():
        return int(code[-3:]) or None
    return parse_group_number(normalise_address(name))


def _as_float(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if out != out else out
