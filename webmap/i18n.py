"""Chinese first, English second: language choice and message catalogues (Flask-Babel).

Source strings are Chinese; ``translations/en`` holds the English.  Catalogues are compiled
from the ``.po`` files into the instance folder when the app starts, so a fresh clone needs no
separate compile step and a stale ``.mo`` can never be served.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale

SOURCE_DIR = Path(__file__).parent / "translations"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Compile every ``.po`` below ``source`` to ``.mo`` below ``target`` when out of date."""
    written = []
    for po in source.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        # Written aside and renamed into place: a process starting at the same moment reads
        # the old catalogue or the new one, never half of one.
        draft = mo.with_name(f".{mo.name}.{os.getpid()}")
        with draft.open("wb") as f:
            write_mo(f, catalog)
        os.replace(draft, mo)
        written.append(mo)
    return written


def select_language() -> str:
    """``?lang=`` wins, then the ``lang`` cookie, then Chinese."""
    for candidate in (request.args.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    compiled = Path(app.instance_path) / "translations"
    compile_catalogues(SOURCE_DIR, compiled)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    Babel(app, locale_selector=select_language)
    app.jinja_env.globals["get_locale"] = get_locale

    @app.after_request
    def remember_language(response):  # noqa: ANN001
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
