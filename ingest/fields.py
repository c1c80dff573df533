"""Recognise the code, name and other fields of boundary files and normalise division codes.

Statistical division codes (统计用区划代码) have 12 digits: province 2, city 2, county 2,
township 3, village 3; a villager group (村民小组) adds 3 digits.  Land-survey layers
(第三次国土调查) use XZQDM/XZQMC for administrative areas (9 digits for townships) and
ZLDWDM/ZLDWMC, 19 digits, for village-level "坐落单位": the village is its first 12 digits.
"""

from __future__ import annotations

import pandas as pd

LEVELS = ("city", "county", "township", "village", "group")
PARENT_LEVEL = {"county": "city", "township": "county", "village": "township", "group": "village"}

# Candidates in order of preference, compared case-insensitively.  ZLDWDM comes before XZQDM
# because village layers of the land survey carry both, XZQDM then being the township.
FIELD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "code": (
        "code",
        "zldwdm",
        "xzqdm",
        "qhdm",
        "cjqydm",
        "xzdm",
        "cundm",
        "adcode",
        "division_code",
        "统计用区划代码",
        "区划代码",
        "行政区划代码",
        "行政区代码",
        "代码",
        "编码",
        "dm",
    ),
    "name": (
        "name",
        "zldwmc",
        "xzqmc",
        "qhmc",
        "cjqymc",
        "xzmc",
        "cunmc",
        "division_name",
        "名称",
        "单位名称",
        "区划名称",
        "行政区划名称",
        "行政区名称",
        "mc",
    ),
    "households": ("households", "hs", "户数", "总户数"),
    "population": ("population", "rk", "zrk", "人口", "人口数", "总人口"),
}
FIELD_KEYS = ("code", "name", "households", "population")


def find_fields(columns: list[str], explicit: dict[str, str] | None = None) -> dict[str, str]:
    """Map our field keys (``code``, ``name``, ``households``, ``population``) to file columns.

    Parameters
    ----------
    columns
        The file's attribute columns.
    explicit
        User mapping such as ``{"code": "XZQDM", "name": "XZQMC"}``; wins over recognition.

    Returns
    -------
    dict
        Key → column for every key found; ``code`` and ``name`` may be missing (the caller
        reports that with the column list).

    Raises
    ------
    KeyError
        If an explicit mapping names a column the file does not have.
    """
    explicit = explicit or {}
    lower = {c.lower().strip(): c for c in columns}
    found: dict[str, str] = {}
    for key, column in explicit.items():
        if key not in FIELD_KEYS:
            msg = f"unknown field key {key!r}: use one of {', '.join(FIELD_KEYS)}"
            raise KeyError(msg)
        if column not in columns and column.lower() not in lower:
            raise KeyError(column)
        found[key] = column if column in columns else lower[column.lower()]
    for key, candidates in FIELD_CANDIDATES.items():
        if key in found:
            continue
        for cand in candidates:
            if cand in lower and lower[cand] not in found.values():
                found[key] = lower[cand]
                break
    return found


def codes_as_text(values: pd.Series) -> pd.Series:
    """Codes as digit strings, whether the file stored text, integers or floats; NA kept."""
    if pd.api.types.is_float_dtype(values):
        out = values.map(lambda v: None if pd.isna(v) else f"{v:.0f}")
    elif pd.api.types.is_integer_dtype(values):
        out = values.map(lambda v: None if pd.isna(v) else str(int(v)))
    else:
        # Text columns are the usual case: skip pd.isna for values that are plain strings.
        out = pd.Series(
            [
                v.strip() if type(v) is str else None if v is None or pd.isna(v) else str(v).strip()
                for v in values.tolist()
            ],
            index=values.index,
            dtype=object,
        )
    return out.replace("", None).astype(object)


def normalise_codes(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Turn raw codes into our 12/15-digit codes and their level.

    Returns
    -------
    code, level, problem : pandas.Series
        ``code`` and ``level`` are None where ``problem`` says why the code is unusable.

    Examples
    --------
    >>> raw = pd.Series(["430523", "430523101", "4305231012010000000", "4305231012010000003"])
    >>> code, level, problem = normalise_codes(raw)
    >>> list(code)
    ['430523000000', '430523101000', '430523101201', '430523101201003']
    >>> list(level)
    ['county', 'township', 'village', 'group']
    """
    # A plain loop: tens of thousands of short strings go faster than a dozen pandas passes.
    results = [_normalise_code(v) for v in raw.tolist()]
    index = raw.index
    code = pd.Series([r[0] for r in results], index=index, dtype=object)
    level = pd.Series([r[1] for r in results], index=index, dtype=object)
    problem = pd.Series([r[2] for r in results], index=index, dtype=object)
    return code, level, problem


def _normalise_code(value: object) -> tuple[str | None, str | None, str | None]:
    if type(value) is str:
        s = value.strip()
    else:
        s = "" if value is None or pd.isna(value) else str(value).strip()
    if not s:
        return None, None, "code is missing (缺少代码)"
    if not (s.isascii() and s.isdigit()):
        return None, None, f"code has characters other than digits: {s}"
    n = len(s)
    if n == 6:
        code = s + "000000"
    elif n == 9:
        code = s + "000"
    elif n in (12, 15):
        code = s
    elif n == 19:
        # ZLDWDM: 12-digit village + 7 digits that are zero for the village itself; a
        # non-zero tail names a group, whose 3-digit number is the tail's last 3 digits.
        code = s[:12] if s[12:] == "0000000" else s[:12] + s[-3:]
    else:
        return None, None, f"code has {n} digits; expected 6, 9, 12, 15 or 19: {s}"
    level = _level_of(code)
    if level is None:
        return None, None, f"code is a province (省级), not a unit of Shaoyang: {code}"
    return code, level, None


def _level_of(code: str) -> str | None:
    if len(code) == 15:
        return "group"
    if code.endswith("0000000000"):
        return None
    for zeros, level in ((8, "city"), (6, "county"), (3, "township")):
        if code.endswith("0" * zeros):
            return level
    return "village"


def parent_codes(code: pd.Series, level: pd.Series) -> pd.Series:
    """The code of each unit's parent implied by its own code (None for cities).

    >>> parent_codes(pd.Series(["430523101201003", "430523101201"]), pd.Series(["group", "village"])).tolist()
    ['430523101201', '430523101000']
    """
    keep = {"group": (12, ""), "village": (9, "000"), "township": (6, "000000")}
    keep["county"] = (4, "00000000")
    out = []
    for c, lv in zip(code.tolist(), level.tolist(), strict=True):
        rule = keep.get(lv) if isinstance(c, str) else None
        out.append(c[: rule[0]] + rule[1] if rule else None)
    return pd.Series(out, index=code.index, dtype=object)
