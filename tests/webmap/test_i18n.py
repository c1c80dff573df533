"""English is complete: every string the code marks for translation has an English entry."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webmap/translations/en/LC_MESSAGES/messages.po"
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def marked_messages() -> dict[str, str]:
    """msgid -> first place it is used, over every package with user-visible text."""
    found: dict[str, str] = {}
    for package in ("webmap", "ingest", "geo"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / package,
            METHODS,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, f"{package}/{filename}:{lineno}")
    return found


def test_every_marked_string_has_an_english_translation():
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    missing = {
        msgid: where for msgid, where in marked_messages().items() if msgid not in translated
    }
    assert missing == {}, "add these to messages.po: " + "; ".join(
        f"{k!r} ({v})" for k, v in missing.items()
    )


def test_extraction_finds_the_pages_strings():
    # Guards the test above against an extractor that silently finds nothing.
    found = marked_messages()
    assert "返回全市" in found
    assert "群众工作站" in found
