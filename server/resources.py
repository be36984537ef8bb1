"""Where the PWA's files are: inside the installed package, or in the checkout.

The checkout keeps the templates and static files in the top-level `pwa/` (a layout the customer fixed), but
an installed package can only count on files inside itself. So the wheel carries a copy of `pwa/templates`
and `pwa/static` (with the built `dist/`) as package data in `server/_pwa/`, made by the build step in
`setup.py`. Code running from a checkout (including the editable install of `scripts/run`) has no
`server/_pwa` and reads `pwa/` directly, so edits and rebuilds are seen without reinstalling.

Plain paths next to the package, not `importlib.resources` traversables: Jinja2 and StaticFiles need real
directories, and a wheel is always installed unpacked. The JSON Schemas follow the same rule in
`records/schemas.py` (`sync/` never imports `server/`).
"""

from __future__ import annotations

from pathlib import Path

from records import texts

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_PWA_DIR = PACKAGE_DIR / "_pwa"


def _checkout_dir() -> Path | None:
    if BUNDLED_PWA_DIR.is_dir():
        return None
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "pwa").is_dir() else None


#: The checkout this code runs from, or None when it runs installed. Only a checkout has a place of its own
#: to write (`var/`); an installed Segel writes only where its settings say, never inside its package.
CHECKOUT_DIR = _checkout_dir()

PWA_DIR = CHECKOUT_DIR / "pwa" if CHECKOUT_DIR is not None else BUNDLED_PWA_DIR
TEMPLATES_DIR = PWA_DIR / "templates"
STATIC_DIR = PWA_DIR / "static"
ASSET_MANIFEST = STATIC_DIR / "dist" / "asset-manifest.json"
#: The translation catalogues (locale/<lang>/LC_MESSAGES/segel.po; records/_locale inside the wheel).
LOCALE_DIR = texts.LOCALE_DIR


def require_pwa() -> None:
    """Fail at start, not on the first page view, when this install has no PWA files."""
    if TEMPLATES_DIR.is_dir() and STATIC_DIR.is_dir() and (LOCALE_DIR / "en").is_dir():
        return
    raise RuntimeError(
        f"The PWA's templates and static files (in {PWA_DIR}) or the translation catalogue (in {LOCALE_DIR}) "
        "are missing: install a wheel built from a checkout after `node pwa/build.mjs` (see README, "
        "Packaging), or run Segel from the checkout."
    )
