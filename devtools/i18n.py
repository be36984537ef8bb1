"""Keeps the translation catalogue in step with the code: `python -m devtools.i18n` (extract, update).

Bahasa Indonesia is the source language: the texts in the code (`_()`, `N_()`, `{{ _() }}` in templates) are
the msgids, and `locale/en/LC_MESSAGES/segel.po` gives their English. Running this re-extracts the msgids,
keeps every translation already written, adds new msgids with an empty msgstr, drops msgids the code no
longer has, and lists what still lacks English (tests/unit/test_translations.py fails on any).

The PWA's texts are entries with a `pwa:<key>` context (msgid Indonesian, msgstr English). They are written
in the .po itself, not extracted: the app reads them as JSON that `pwa/build.mjs` makes from this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
EN_PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "segel.po"
PWA_CONTEXT = "pwa:"
#: The markers of a text for the catalogue: gettext's own, and the layers below the pages' (records/texts.py):
#: `in_both(msgid, ...)`, the gateway's `_refuse(code, msgid, ...)` (sync/validation.py) and an image's
#: `ImageError(code, msgid, ...)` (records/images.py).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "in_both": (1,),
    "_refuse": (2,),
    "ImageError": (2,),
}
METHODS = [
    ("server/**.py", "python"),
    ("sync/**.py", "python"),
    ("records/**.py", "python"),
    ("pwa/templates/**.html", "jinja2.ext:babel_extract"),
]
OPTIONS = {"pwa/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def extracted() -> dict[str, list[tuple[str, int]]]:
    """msgid -> where it occurs, for every text marked in the code (server, sync, records) and templates."""
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, []).append((filename, lineno))
    return found


def read_catalogue(path: Path = EN_PO) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale="en", domain="segel")


def untranslated(catalogue: Catalog, wanted: dict[str, list[tuple[str, int]]]) -> list[str]:
    """The extracted msgids the catalogue has no English for."""
    return sorted(
        text
        for text in wanted
        if not (catalogue.get(text) and catalogue.get(text).string)  # type: ignore[union-attr]
    )


def update(path: Path = EN_PO) -> list[str]:
    """Rewrite the catalogue from the code's msgids, keeping translations; returns those without English."""
    old = read_catalogue(path)
    wanted = extracted()
    new = Catalog(
        locale="en",
        domain="segel",
        header_comment=old.header_comment,
        project="Segel",
        version=old.version,
        copyright_holder=old.copyright_holder,
        msgid_bugs_address=old.msgid_bugs_address,
        creation_date=old.creation_date,  # no new date per run: the file changes only when texts do
        revision_date=old.revision_date,
        last_translator=old.last_translator,
        language_team=old.language_team,
        fuzzy=False,
    )
    for message in old:
        if message.id and message.context and message.context.startswith(PWA_CONTEXT):
            new.add(message.id, message.string, context=message.context)
    for text, places in sorted(wanted.items()):
        known = old.get(text)
        new.add(text, known.string if known else "", locations=places)
    with path.open("wb") as file:
        write_po(file, new, width=120, no_location=True, include_previous=False)
    return untranslated(new, wanted)


if __name__ == "__main__":
    missing = update()
    for text in missing:
        print(f"no English: {text!r}")
    print(f"{EN_PO.relative_to(ROOT)}: {len(missing)} msgid(s) without English")
    sys.exit(1 if missing else 0)
