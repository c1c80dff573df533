"""Write noisy, labelled addresses the way villagers and clerks write them, for demo cases.

Each address names one villager group (or only its village) with a mix of habits seen in case
registers: full ``湖南省邵阳市洞口县竹市镇田心村3组``, province/city or county left out,
suffixes dropped (``竹市田心3组``), group numbers as ``三组`` / ``第三村民小组`` / ``03组`` /
``３组``, old names (``邵东县``, a village merged away), house numbers, landmarks and filler
words, and now and then one wrong character in the village name.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["STYLES", "sample_labelled_addresses", "write_address"]

STYLES: dict[str, float] = {
    "full": 0.12,
    "no_province": 0.20,
    "no_county": 0.14,
    "short": 0.14,
    "group_words": 0.10,
    "historic": 0.06,
    "noisy": 0.12,
    "typo": 0.04,
    "village_only": 0.05,
    "bare": 0.03,
}
_STYLE_NAMES = tuple(STYLES)
_STYLE_P = np.array(list(STYLES.values())) / sum(STYLES.values())

_CN = "零一二三四五六七八九"
_COUNTY_SUFFIXES = ("苗族自治县", "自治县", "县", "市", "区")
_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "镇", "乡")
_VILLAGE_SUFFIXES = ("居民委员会", "居委会", "社区", "村")
_LEAD_NOISE = ("家住", "住址：", "地址:", "住", "现住", "户籍地")
_TAIL_NOISE = ("附近", "对面", "旁边", "门口", "后面", "村部对面", "学校旁边", "卫生室旁", "桥头")
_SURNAMES = "李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "国华明建平志红军伟芳英秀林春生海玉桂兰"
# Characters a hurried clerk or a phone IME puts in place of the right one.
_TYPO_POOL = "山水田塘湾冲坪桥岭江河石竹木花园新老大小上下东西南北中和平兴旺龙凤金银"


def _cn_number(n: int) -> str:
    if n >= 100:
        hundreds, rest = divmod(n, 100)
        if not rest:
            return _CN[hundreds] + "百"
        return (
            _CN[hundreds]
            + "百"
            + ("零" if rest < 10 else "")
            + ("一十" + _CN[rest % 10] * (rest % 10 > 0) if 10 <= rest < 20 else _cn_number(rest))
        )
    if n < 10:
        return _CN[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[units] if units else "")


def _drop(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    if name.endswith("族乡"):
        # 麻林瑶族乡 -> 麻林
        core = name[:-1]
        while core.endswith("族") and len(core) > 3:
            core = core[:-2]
        return core
    return name


def _group_text(n: int, rng: np.random.Generator, *, words: bool) -> str:
    forms = (
        f"{_cn_number(n)}组",
        f"第{_cn_number(n)}组",
        f"第{_cn_number(n)}村民小组",
        f"{n:02d}组",
        str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "组",
        f"第{n}村民小组",
    )
    if not words and rng.random() < 0.7:
        return f"{n}组"
    return forms[int(rng.integers(len(forms)))]


def _typo(name: str, rng: np.random.Generator) -> str:
    core = _drop(name, _VILLAGE_SUFFIXES)
    k = int(rng.integers(len(core)))
    choices = [c for c in _TYPO_POOL if c != core[k]]
    wrong = choices[int(rng.integers(len(choices)))]
    return core[:k] + wrong + core[k + 1 :] + name[len(core) :]


def _noise(rng: np.random.Generator) -> tuple[str, str]:
    lead = _LEAD_NOISE[int(rng.integers(len(_LEAD_NOISE)))] if rng.random() < 0.4 else ""
    kind = rng.random()
    if kind < 0.3:
        tail = f"{int(rng.integers(1, 300))}号"
    elif kind < 0.55:
        shop = _SURNAMES[int(rng.integers(len(_SURNAMES)))] + _GIVEN[int(rng.integers(len(_GIVEN)))]
        tail = shop + ("小卖部旁" if rng.random() < 0.6 else "家")
    else:
        tail = _TAIL_NOISE[int(rng.integers(len(_TAIL_NOISE)))]
    if rng.random() < 0.25 and not tail.endswith("号"):
        tail = f"{int(rng.integers(1, 99))}号" + tail
    return lead, tail


def _write(
    chain: Mapping[str, object], rng: np.random.Generator, style: str | None
) -> tuple[str, str, bool]:
    """Return (address, style used, whether a group number is written)."""
    if style is None:
        style = _STYLE_NAMES[int(rng.choice(len(_STYLE_NAMES), p=_STYLE_P))]
    elif style not in STYLES:
        msg = f"unknown address style {style!r}; expected one of {list(STYLES)}"
        raise ValueError(msg)
    county = str(chain["county"])
    township = str(chain["township"])
    village = str(chain["village"])
    group = chain.get("group")
    if style == "historic":
        if chain.get("old_village"):
            village = str(chain["old_village"])
            group = chain.get("old_group")
            county = str(chain.get("old_county") or county)
            township = str(chain.get("old_township") or township)
        elif chain.get("old_county"):
            county = str(chain["old_county"])
        else:
            style = "full"

    if style == "full":
        head = "湖南省邵阳市"
    elif style == "no_province":
        head = "邵阳市" if rng.random() < 0.5 else ""
    else:
        roll = rng.random()
        head = "湖南省邵阳市" if roll < 0.1 else ("邵阳市" if roll < 0.3 else "")
    short = style == "short"
    if style in ("no_county", "bare"):
        county = ""
    elif short and rng.random() < 0.6:
        county = _drop(county, _COUNTY_SUFFIXES)
    if style == "bare":
        township = ""
        head = ""
    elif short:
        township = _drop(township, _TOWNSHIP_SUFFIXES)
    if short:
        village = _drop(village, _VILLAGE_SUFFIXES)
    if style == "typo":
        village = _typo(village, rng)

    has_group = group is not None and style != "village_only"
    group_text = (
        _group_text(int(group), rng, words=style == "group_words") if has_group else ""  # type: ignore[call-overload]
    )
    parts = [head, county, township, village, group_text]
    sep = "" if rng.random() < 0.9 else (" " if rng.random() < 0.6 else "，")
    address = sep.join(p for p in parts if p)
    if style == "noisy" or rng.random() < 0.12:
        lead, tail = _noise(rng)
        address = lead + address + tail
    return address, style, has_group


def write_address(
    chain: Mapping[str, object], rng: np.random.Generator, *, style: str | None = None
) -> str:
    """Write one address for a villager group as a person would.

    Parameters
    ----------
    chain : Mapping[str, object]
        Names of the unit chain: ``county``, ``township``, ``village`` (official full names)
        and ``group`` (int group number or None).  Optional ``old_county`` (e.g. ``邵东县``),
        ``old_township``, ``old_village`` and ``old_group`` (the names and group number in an
        older generation, e.g. of a village merged away) feed the ``historic`` style.
    rng : numpy.random.Generator
        Source of all randomness, so a seed gives the same addresses.
    style : str, optional
        One of :data:`STYLES`; drawn with their weights when omitted.  ``historic`` falls back
        to ``full`` when the chain has no old names.

    Returns
    -------
    str
        The address.

    Examples
    --------
    >>> chain = {"county": "洞口县", "township": "竹市镇", "village": "田心村", "group": 3}
    >>> write_address(chain, np.random.default_rng(2), style="full")
    '湖南省邵阳市洞口县竹市镇田心村3组'
    >>> write_address(chain, np.random.default_rng(0), style="short")
    '洞口竹市田心3组'
    """
    return _write(chain, rng, style)[0]


def sample_labelled_addresses(
    units: pd.DataFrame,
    n: int,
    *,
    seed: int,
    active_generation: str | None = None,
    style: str | None = None,
) -> pd.DataFrame:
    """Draw ``n`` villager groups of the active generation and write an address for each.

    Parameters
    ----------
    units : pandas.DataFrame
        The units table (``generation, level, code, name, parent_code`` and optionally
        ``successor_code``, which supplies old county and merged-village names).
    n : int
        Number of addresses.
    seed : int
        Seed of the random generator.
    active_generation : str, optional
        Defaults to the latest generation in the table.
    style : str, optional
        Force one style for every address.

    Returns
    -------
    pandas.DataFrame
        Columns ``address, true_group_code, true_village_code, has_group, style``; the truth
        is always the active-generation unit.
    """
    if n < 0:
        msg = f"n must be >= 0, got {n}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    generations = units["generation"].astype(str)
    active = active_generation or max(generations.unique())
    now = units[generations == active]
    name = dict(zip(now["code"], now["name"], strict=True))
    parent = dict(zip(now["code"], now["parent_code"], strict=True))
    groups = now.loc[now["level"] == "group", "code"].to_numpy()
    if len(groups) == 0:
        msg = "the units table has no villager groups in the active generation"
        raise ValueError(msg)

    old_county: dict[str, str] = {}
    old_chains: dict[str, list[tuple[str, str, str, int]]] = {}
    if "successor_code" in units.columns:
        old = units[(generations != active) & units["successor_code"].notna()]
        counties = old[old["level"] == "county"]
        for succ, old_name in zip(counties["successor_code"], counties["name"], strict=True):
            if succ in name and name[succ] != old_name:
                old_county[succ] = old_name
        old_name_of = dict(zip(old["code"], old["name"], strict=True))
        old_parent = dict(zip(old["code"], old["parent_code"], strict=True))
        old_groups = old[old["level"] == "group"]
        for code, succ in zip(old_groups["code"], old_groups["successor_code"], strict=True):
            if succ not in parent:
                continue
            v_old = old_parent.get(code)
            t_old = old_parent.get(v_old)
            c_old = old_parent.get(t_old)
            v_new = parent[succ]
            t_new = parent.get(v_new)
            c_new = parent.get(t_new)
            names_old = [old_name_of.get(x) for x in (c_old, t_old, v_old)]
            names_new = [name.get(x) for x in (c_new, t_new, v_new)]
            if None not in names_old and names_old != names_new:
                c_n, t_n, v_n = names_old
                old_chains.setdefault(succ, []).append((c_n, t_n, v_n, int(code[-3:])))  # type: ignore[arg-type]

    picks = rng.choice(groups, size=n, replace=n > len(groups))
    rows = []
    for group in picks:
        village = parent[group]
        township = parent[village]
        county = parent[township]
        chain: dict[str, object] = {
            "county": name[county],
            "township": name[township],
            "village": name[village],
            "group": int(group[-3:]),
        }
        if county in old_county:
            chain["old_county"] = old_county[county]
        if group in old_chains:
            options = old_chains[group]
            c_name, t_name, v_name, number = options[int(rng.integers(len(options)))]
            chain.update(old_county=c_name, old_township=t_name, old_village=v_name,
                         old_group=number)  # fmt: skip
        address, used, has_group = _write(chain, rng, style)
        rows.append((address, group, village, has_group, used))
    return pd.DataFrame(
        rows, columns=["address", "true_group_code", "true_village_code", "has_group", "style"]
    )
