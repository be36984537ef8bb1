"""Province scale benchmark (run through `scripts/bench/scale`, issue 15): prints figures, asserts nothing.

Parts (`--only`, comma-separated; all by default), each on a fresh database of the chosen kind and its own
server:

* `pull`: one courier's incremental pull of 20 changes they may see after 1,000 and after 100,000 other
  changes since their checkpoint (`devtools/bench/scale_pull.py`).
* `live`: a thousand live phones on one server instance under 20 changes a second: the server's memory and
  CPU, database requests per second at 0, 100 and 1,000 phones, and how soon a staff write reaches the
  phone it concerns (`devtools/bench/scale_live.py`).
* `push`, `load`: the database's work per pushed record, and 200 phones pushing at once
  (`devtools/bench/scale_push.py`).

The defaults are the issue's sizes; `--quick` makes every part small enough for a first try (a size given
on the command line wins).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from collections.abc import Awaitable, Callable

from devtools.bench import scale_live, scale_pull, scale_push
from devtools.bench.chosen_database import add_db_option
from devtools.bench.scale_setup import raise_open_files_limit

Part = Callable[[argparse.Namespace], Awaitable[None]]
#: Each part, in the order they run.
PARTS: dict[str, Part] = {
    "pull": scale_pull.run,
    "live": scale_live.run,
    "push": scale_push.push_work,
    "load": scale_push.push_load,
}
MODULES = (scale_pull, scale_live, scale_push)


def _parts(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"--only takes some of {','.join(PARTS)} (got {text!r})")
    return parts


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog="scripts/bench/scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_db_option(made)
    made.add_argument(
        "--only", type=_parts, default=list(PARTS), help=f"parts to run, comma-separated ({','.join(PARTS)})"
    )
    made.add_argument("--quick", action="store_true", help="small sizes for a first try")
    for module in MODULES:
        module.add_arguments(made)
    return made


def _apply_quick(made: argparse.ArgumentParser, args: argparse.Namespace, quick: dict[str, object]) -> None:
    """Quick sizes for every option still at its default (one given on the command line wins)."""
    for name, value in quick.items():
        if getattr(args, name) == made.get_default(name):
            setattr(args, name, value)


async def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    made = parser()
    args = made.parse_args()
    if args.quick:
        for module in MODULES:
            _apply_quick(made, args, module.QUICK)
    print(f"$ scripts/bench/scale {shlex.join(sys.argv[1:])}".rstrip())
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(raise_open_files_limit())
    for part in args.only:
        await PARTS[part](args)


if __name__ == "__main__":
    asyncio.run(main())
