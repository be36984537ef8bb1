"""The one translation catalogue, read where every layer can reach it; and the texts of the layers below the
pages (the sync gateway's refusals, an image's problems), said in both languages from it.

The catalogue is `locale/<lang>/LC_MESSAGES/segel.po`: Bahasa Indonesia is the source language (the msgids),
English the translation. The wheel carries it as `records/_locale` (setup.py), like the schemas; a checkout
reads the top-level `locale/`. It is compiled in memory on first use, so no `.mo` file can go stale beside
its `.po`. The pages choose one language per request (server/i18n.py reads the same compiled catalogue).

The gateway cannot know which language the phone shows, and the phone shows a refusal's reason as it is, so
texts from here are said in both: `in_both("Foto lebih dari 5 MB.")` is the Indonesian, then its English in
brackets. Their msgids are extracted like the pages' (`python -m devtools.i18n` reads `N_`, `in_both` and the
gateway's `_refuse(code, msgid)`), and their placeholders are `%(name)s`, filled after translating.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
DOMAIN = "segel"


def _locale_dir() -> Path:
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir / "_locale"
    return bundled if bundled.is_dir() else package_dir.parent / "locale"


#: The translation catalogues (locale/<lang>/LC_MESSAGES/segel.po; records/_locale inside the wheel).
LOCALE_DIR = _locale_dir()


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of `language`; Indonesian is the source language and needs none."""
    if language == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    with po_path(language).open("rb") as file:
        catalog = read_po(file, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is shown."""
    return message


def said(message: str, args: Mapping[str, object] | None = None, language: str = DEFAULT_LANGUAGE) -> str:
    """`message` (an Indonesian msgid) in `language`, with `args` filled into its `%(name)s` places."""
    text = translations(language).gettext(message)
    return text % dict(args) if args else text


def in_both(message: str, **args: object) -> str:
    """ "Indonesian (English)": for an answer read by a phone in either language."""
    indonesian, english = said(message, args), said(message, args, "en")
    return indonesian if english == indonesian else f"{indonesian} ({english})"
