"""Command line: `python -m server <command>` (also installed as `segel`).

Commands are registered by the modules that own them, so identity commands live with identity code. Only
production commands are here; the development ones (`dev`, what `scripts/run` starts, and `load-demo`) are
`python -m devtools <command>` in a checkout, and an installed Segel has neither them nor the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from server.identity.cli import protect_credential_ids
from server.identity.cli import register as register_identity
from server.settings import Settings, SettingsError, open_couch, prepare_data_dir

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


async def _cmd_serve(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.logs import configure_logging
    from server.serving import serve

    settings = Settings.from_env()
    prepare_data_dir(settings)
    configure_logging(settings.log_level)
    await serve(create_app(settings), settings)
    return 0


async def _cmd_worker(args: argparse.Namespace) -> int:
    from server.logs import configure_logging
    from server.office.config import OfficeConfig
    from server.office.worker import run_worker

    settings = Settings.from_env()
    prepare_data_dir(settings)
    configure_logging(settings.log_level)
    try:
        config = OfficeConfig.from_env()
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    return await run_worker(settings, config)


async def _cmd_bootstrap(args: argparse.Namespace) -> int:
    from server.databases import prepare_databases

    settings = Settings.from_env()
    couch = open_couch(settings)
    try:
        report = await prepare_databases(couch, settings)
    finally:
        await couch.aclose()
    print("bootstrap:", "changed " + str(report) if report.changed else "nothing to change")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segel", description="Segel server and administration.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve the app against COUCHDB_URL (production; proxies: SEGEL_TRUSTED_PROXIES)"
    )
    serve.set_defaults(handler=_cmd_serve)
    sub.add_parser(
        "worker", help="run the office's background work: checks, rollups, closures, residents' messages"
    ).set_defaults(handler=_cmd_worker)
    sub.add_parser("bootstrap", help="create databases, design documents and indexes").set_defaults(
        handler=_cmd_bootstrap
    )
    register_identity(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(protect_credential_ids(sys.argv[1:] if argv is None else argv))
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args))
    except SettingsError as exc:
        print(f"segel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
