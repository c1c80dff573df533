"""Tests for demo.addresses: the noisy labelled address writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demo.addresses import STYLES, sample_labelled_addresses, write_address
from geo.geocode import Gazetteer, normalise_address, parse_group_number

CHAIN = {"county": "洞口县", "township": "竹市镇", "village": "田心村", "group": 12}
OLD_CHAIN = {
    "county": "邵东市",
    "township": "火厂坪镇",
    "village": "新合村",
    "group": 5,
    "old_county": "邵东县",
    "old_village": "长冲村",
    "old_group": 2,
}


def _units() -> pd.DataFrame:
    """Two generations: 邵东县 -> 邵东市, and 长冲村 (2013) merged into 新合村 (2023)."""
    rows = []

    def add(gen, level, code, name, parent, succ=None):
        rows.append(
            {"generation": gen, "level": level, "code": code, "name": name,
             "parent_code": parent, "county_code": code[:6], "lon": 111.0, "lat": 27.0,
             "successor_code": succ}
        )  # fmt: skip

    for gen in ("2013", "2023"):
        old = gen == "2013"
        add(gen, "city", "430500000000", "邵阳市", None)
        add(gen, "county", "430525000000", "洞口县", "430500000000")
        sd = "430521" if old else "430582"
        add(gen, "county", sd + "000000", "邵东县" if old else "邵东市", "430500000000",
            "430582000000" if old else None)  # fmt: skip
        add(gen, "township", "430525101000", "竹市镇", "430525000000")
        add(gen, "township", sd + "104000", "火厂坪镇", sd + "000000",
            "430582104000" if old else None)  # fmt: skip
        for tail, vname in (("201", "田心村"), ("202", "红旗社区")):
            add(gen, "village", "430525101" + tail, vname, "430525101000")
            for k in range(1, 4):
                add(gen, "group", f"430525101{tail}{k:03d}", f"{k}组", "430525101" + tail)
        if old:
            add(gen, "village", "430521104206", "长冲村", "430521104000", "430582104202")
            for k in range(1, 4):
                add(gen, "group", f"430521104206{k:03d}", f"{k}组", "430521104206",
                    f"430582104202{k + 3:03d}")  # fmt: skip
        else:
            add(gen, "village", "430582104202", "新合村", "430582104000")
            for k in range(1, 7):
                add(gen, "group", f"430582104202{k:03d}", f"{k}组", "430582104202")
    return pd.DataFrame(rows)


def test_full_style_names_every_level():
    address = write_address(CHAIN, np.random.default_rng(2), style="full")
    text = normalise_address(address)
    assert text.startswith("邵阳市洞口县竹市镇田心村")
    assert parse_group_number(text[len("邵阳市洞口县竹市镇田心村") :]) == 12


def test_short_style_drops_suffixes():
    rng = np.random.default_rng(5)
    for _ in range(20):
        text = normalise_address(write_address(CHAIN, rng, style="short"))
        assert "竹市镇" not in text
        assert "田心村" not in text
        assert "竹市田心" in text


def test_group_words_all_read_back_to_the_number():
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(60):
        text = normalise_address(write_address(CHAIN, rng, style="group_words"))
        tail = text.split("田心村", 1)[1]
        seen.add(tail)
        assert parse_group_number(tail) == 12, tail
    assert len(seen) >= 4  # several spellings, not one


def test_no_county_and_bare_leave_parts_out():
    rng = np.random.default_rng(3)
    assert "洞口" not in write_address(CHAIN, rng, style="no_county")
    bare = write_address(CHAIN, rng, style="bare")
    assert "竹市" not in bare
    assert "田心村" in bare


def test_village_only_has_no_group():
    rng = np.random.default_rng(4)
    for _ in range(10):
        text = normalise_address(write_address(CHAIN, rng, style="village_only"))
        assert "组" not in text
        assert "田心村" in text


def test_historic_uses_old_names():
    address = write_address(OLD_CHAIN, np.random.default_rng(1), style="historic")
    assert "邵东县" in address
    assert "长冲村" in address
    assert "新合村" not in address
    # Without old names the style falls back to the current ones.
    plain = write_address(CHAIN, np.random.default_rng(1), style="historic")
    assert "田心村" in plain


def test_typo_changes_exactly_one_character_of_the_village():
    rng = np.random.default_rng(11)
    for _ in range(20):
        text = normalise_address(write_address(CHAIN, rng, style="typo"))
        start = text.index("竹市镇") + 3
        written = text[start : start + 3]
        assert written != "田心村"
        assert sum(a != b for a, b in zip(written, "田心村", strict=True)) == 1


def test_unknown_style_is_rejected():
    with pytest.raises(ValueError, match="unknown address style"):
        write_address(CHAIN, np.random.default_rng(0), style="poetry")


def test_sample_is_labelled_reproducible_and_mixed():
    units = _units()
    first = sample_labelled_addresses(units, 400, seed=1)
    again = sample_labelled_addresses(units, 400, seed=1)
    other = sample_labelled_addresses(units, 400, seed=2)
    assert list(first.columns) == [
        "address", "true_group_code", "true_village_code", "has_group", "style",
    ]  # fmt: skip
    pd.testing.assert_frame_equal(first, again)
    assert not first["address"].equals(other["address"])
    active_groups = set(units.query("generation == '2023' and level == 'group'")["code"])
    assert set(first["true_group_code"]) <= active_groups
    assert (first["true_group_code"].str[:12] == first["true_village_code"]).all()
    assert set(first["style"]) >= set(STYLES) - {"typo"}
    assert not first.loc[first["style"] == "village_only", "has_group"].any()
    historic = first[first["style"] == "historic"]
    assert historic["address"].str.contains("邵东县|长冲村").all()


def test_sample_round_trips_through_the_geocoder():
    units = _units()
    gaz = Gazetteer.from_units(units, active_generation="2023")
    sample = sample_labelled_addresses(units, 300, seed=9)
    sample = sample[~sample["style"].isin(["typo", "bare"])]
    found = gaz.geocode_many(sample["address"])
    # A merged-away village answers with its old unit; its successor is the truth.
    code = found["successor_code"].fillna(found["code"])
    village_ok = (code.str[:12] == sample["true_village_code"].to_numpy()).mean()
    with_group = sample["has_group"].to_numpy()
    group_ok = (code[with_group] == sample["true_group_code"][with_group].to_numpy()).mean()
    assert village_ok == 1.0
    assert group_ok == 1.0
