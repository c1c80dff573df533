"""The text side of geocoding Shaoyang addresses: normalising, group numbers, name variants.

Pure functions and constants shared by :mod:`geo.geocode` (the gazetteer) and anything else that
reads Chinese division names and codes; no unit tables here.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "LEVELS",
    "code_prefix",
    "core_name",
    "group_number",
    "name_variants",
    "normalise_address",
    "parse_group_number",
    "strip_suffix",
]

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


def strip_suffix(name: str, suffixes: tuple[str, ...]) -> tuple[str, str]:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def name_variants(name: str, level: int) -> list[tuple[str, bool]]:
    """Spellings of one unit's name people use, each flagged True if it is the full name."""
    variants = [(name, True)]
    if level == _COUNTY:
        core, _ = strip_suffix(name, _COUNTY_SUFFIXES)
        variants.append((core, False))
        if name.endswith("自治县"):
            variants.append((core + "县", False))
    elif level == _TOWNSHIP:
        ethnic = _ETHNIC_TOWNSHIP.match(name)
        if ethnic:
            core = ethnic.group(1)
            variants += [(core, False), (core + "乡", False), (core + ethnic.group(2), False)]
        else:
            core, suffix = strip_suffix(name, _TOWNSHIP_SUFFIXES)
            variants.append((core, False))
            if suffix == "街道":
                variants += [(core + "街道办事处", True), (core + "办事处", True)]
                variants.append((core + "街道办", True))
            elif suffix in ("镇", "乡"):
                # Many 乡 became 镇 (and people still say the old one).
                variants.append((core + ("乡" if suffix == "镇" else "镇"), False))
    elif level == _VILLAGE:
        core, suffix = strip_suffix(name, _VILLAGE_SUFFIXES)
        variants.append((core, False))
        if suffix in ("社区", "居委会", "居民委员会"):
            variants += [(core + "社区", True), (core + "居委会", True)]
        elif suffix == "村":
            variants.append((core + "村委会", True))
    elif level == _CITY:
        core, _ = strip_suffix(name, ("市",))
        variants.append((core, False))
    # One character is too common to stand for a place.
    return [(v, full) for v, full in dict.fromkeys(variants) if len(v) >= 2]


def code_prefix(code: object) -> str | None:
    """The leading digits that make a division code's area: ``430503000000`` -> ``430503``.

    >>> code_prefix("430503000000"), code_prefix("430503"), code_prefix("430503101000")
    ('430503', '430503', '430503101')
    """
    if not isinstance(code, str):
        return None
    digits = code.strip()
    if not digits.isdigit() or len(digits) < 4:
        return None
    if len(digits) <= 9:
        return digits
    digits = digits[:12]
    for size in (4, 6, 9):
        if set(digits[size:]) <= {"0"}:
            return digits[:size]
    return digits


def core_name(name: str, level: int) -> str:
    suffixes = {_COUNTY: _COUNTY_SUFFIXES, _TOWNSHIP: _TOWNSHIP_SUFFIXES}.get(
        level, _VILLAGE_SUFFIXES
    )
    return strip_suffix(name, suffixes)[0]


def group_number(code: str, name: str) -> int | None:
    if len(code) == 15 and code[-3:].isdigit():
        return int(code[-3:]) or None
    return parse_group_number(normalise_address(name))
