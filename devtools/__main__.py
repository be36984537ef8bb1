"""`python -m devtools <command>`: the development commands the installed `segel` does not have.

`dev` is what `scripts/run` starts; `load-demo` writes the demo office into the CouchDB that COUCHDB_URL
names (once; a second call writes nothing), for a staging database that should look lived-in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from server.settings import Settings, SettingsError, open_couch


async def _dev() -> int:
    from devtools.devrun import run_dev

    return await run_dev()


async def _load_demo() -> int:
    from devtools.demo.loader import load_demo

    settings = Settings.from_env()
    couch = open_couch(settings)
    try:
        loaded = await load_demo(couch, settings)
    finally:
        await couch.aclose()
    print("demo data:", "loaded" if loaded else "already present, nothing written")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools", description="Segel development commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="run everything locally (embedded CouchDB, demo data, server, worker)")
    sub.add_parser("load-demo", help="load the demo data into COUCHDB_URL once")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_dev() if args.command == "dev" else _load_demo())
    except SettingsError as exc:
        print(f"devtools: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
