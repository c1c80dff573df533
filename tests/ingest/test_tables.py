"""ingest.tables and ingest.encodings: the one table reader, header matcher and sniffer."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.encodings import first_undecodable_line, normalise_encoding, sniff
from ingest.errors import IngestError
from ingest.tables import column, match_columns, normalise_header, read_table


def test_sniff_prefers_utf8_then_the_hint_then_gb18030():
    text = "田心村,2组".encode("gbk")
    assert sniff(text) == "GB18030"
    assert sniff(text, prefer=["GBK"]) == "GBK"
    assert sniff("田心村".encode()) == "UTF-8"
    assert sniff(b"\x81") is None
    assert first_undecodable_line(b"a\nb\n\x81\nc") == 3
    assert first_undecodable_line(b"a\nb") == 0
    # Lines are counted by newlines only: spaces inside a line do not start a new one.
    assert first_undecodable_line(b"a b c\nd e\n\xff\xff bad\n") == 3
    # .cpg files write "ANSI 936" in capitals; codec names come back as Python's, capitalised.
    assert normalise_encoding(" ANSI 936 ") == "GBK"
    assert normalise_encoding("latin-1") == "ISO8859-1"
    assert normalise_encoding("CP936") == "GBK"
    with pytest.raises(ValueError, match="nope"):
        normalise_encoding("nope")


def test_headers_match_by_spelling_and_explicit_choice_wins():
    headers = {"lon": ("经度", "lng"), "lat": ("纬度", "lat"), "name": ("名称", "name")}
    cols = match_columns([" 经 度", "LAT", "Name", "名称"], headers)
    assert cols == {"lon": " 经 度", "lat": "LAT", "name": "名称"}  # the first spelling wins
    assert match_columns(["x", "名称"], headers, explicit={"lon": "x"}) == {
        "lon": "x",
        "name": "名称",
    }
    with pytest.raises(KeyError, match="unknown field key"):
        match_columns(["x"], headers, explicit={"nope": "x"})
    with pytest.raises(KeyError, match="no column 'y'"):
        match_columns(["x"], headers, explicit={"lon": "y"})
    assert normalise_header("Case_No.（A）") == "casenoa"


def test_csv_in_gbk_and_utf8_with_bom_read_alike(tmp_path):
    frame = pd.DataFrame({"地址": [" 田心村 ", ""], "经度": ["111.0", "112"]})
    gbk, bom = tmp_path / "a.csv", tmp_path / "b.csv"
    gbk.write_bytes(frame.to_csv(index=False).encode("gbk"))
    bom.write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    for path in (gbk, bom):
        table = read_table(path, shown=path.name)
        assert list(table.columns) == ["地址", "经度"]
        assert table["地址"].tolist() == ["田心村", None]
        assert table["经度"].tolist() == ["111.0", "112"]
    assert column(table, {"lon": "经度"}, "lat").isna().all()
    with pytest.raises(IngestError, match=r"a\.csv: row 1: text is not UTF-8"):
        read_table(gbk, shown="a.csv", encoding="UTF-8")


def test_unreadable_tables_name_the_file(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"a,b\n\x81\xff\xfe,2\n")
    with pytest.raises(IngestError, match=r"x\.csv: row 2: text is neither UTF-8 nor GBK"):
        read_table(bad, shown="x.csv")
    other = tmp_path / "x.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(IngestError, match=r"unsupported table file type '\.pdf'"):
        read_table(other, shown="x.pdf")
