"""The one Jinja2 environment: templates live in pwa/templates, next to the assets they use (located by
server/resources.py, in the checkout or inside the installed package)."""

from __future__ import annotations

import json
from functools import lru_cache

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.templating import Jinja2Templates

from server import i18n, problems
from server.local_time import local_time, phone_clock_note, zone_for_code
from server.resources import ASSET_MANIFEST, TEMPLATES_DIR


@lru_cache(maxsize=4)
def _manifest(mtime: float) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(ASSET_MANIFEST.read_text())
    return loaded


def asset_manifest() -> dict[str, object]:
    """The build's map of bundle names to hashed URLs; rebuilt bundles are picked up without a restart."""
    try:
        return _manifest(ASSET_MANIFEST.stat().st_mtime)
    except FileNotFoundError as exc:
        raise RuntimeError(
            "The PWA is not built: run `node pwa/build.mjs` (scripts/run does it for you)."
        ) from exc


def asset(name: str) -> str:
    assets = asset_manifest()["assets"]
    assert isinstance(assets, dict)
    return str(assets[name])


def shell_modules() -> list[str]:
    """The bundles the entry imports statically (the precached scripts but the entry): the shell page names
    them as modulepreload, so they come down beside the entry, not one round trip after it."""
    precache = asset_manifest()["precache"]
    assert isinstance(precache, list)
    return [str(url) for url in precache if str(url).endswith(".js") and url != asset("app.js")]


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["asset"] = asset
templates.env.globals["shell_modules"] = shell_modules

# Texts: {% trans %} / _() in the request's language (server/i18n.py), label(kind, value) or |label(kind)
# for identifiers, and the footer's switch link.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
)
templates.env.globals["label"] = i18n.label
templates.env.globals["choices"] = i18n.choices
templates.env.globals["current_language"] = i18n.current_language
templates.env.globals["switch_url"] = i18n.switch_url
templates.env.filters["label"] = lambda value, kind: i18n.label(kind, value)
templates.env.globals["field_label"] = problems.field_label
templates.env.globals["problem_reason"] = problems.reason


@pass_context
def _local_time_filter(context: Context, value: object, date_only: bool = False) -> str:
    """`{{ x.created_at|local_time }}`: in the zone of the page's office (`office_zone`, set by the routes
    from the office record), else the zone of the office code the page is about, else WIB."""
    return local_time(value, _page_zone(context), date_only=date_only)


@pass_context
def _phone_clock_filter(context: Context, device_time: object, server_time: object) -> str:
    """`{{ h.device_time|phone_clock(e.server_time) }}`: "jam ponsel: …" only when the clocks disagree."""
    return phone_clock_note(device_time, server_time, _page_zone(context))


def _page_zone(context: Context) -> str:
    zone = context.get("office_zone")
    if isinstance(zone, str) and zone:
        return zone
    office = context.get("office")
    if not isinstance(office, str):
        principal = context.get("principal")
        office = getattr(principal, "office", None)
    return zone_for_code(office)


templates.env.filters["local_time"] = _local_time_filter
templates.env.filters["phone_clock"] = _phone_clock_filter
