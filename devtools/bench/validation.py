"""Time `records.schemas.validate_record` per record: the gateway runs it on every pushed revision.

`scripts/bench/validation [--rounds N]` prints microseconds per record for each schema
example, valid ones (the common case: jsonschema-rs says yes, then the cross-field rules) and refused ones
(jsonschema-rs lists the errors, `records.schemas` words them). No database is needed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from records.schemas import RECORD_TYPES, validate_record

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


def _per_record_us(records: list[dict[str, object]], rounds: int) -> float:
    for record in records:
        validate_record(record)  # compile and cache the validator first
    start = time.perf_counter()
    for _ in range(rounds):
        for record in records:
            validate_record(record)
    return (time.perf_counter() - start) / (rounds * len(records)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    print(f"{'type':10s} {'valid us':>9s} {'refused us':>11s}")
    for kind in RECORD_TYPES:
        valid = [json.loads(path.read_text()) for path in sorted((EXAMPLES / kind).glob("valid-*.json"))]
        refused = [
            json.loads(path.read_text())["record"]
            for path in sorted((EXAMPLES / kind).glob("invalid-*.json"))
        ]
        valid_us, refused_us = _per_record_us(valid, args.rounds), _per_record_us(refused, args.rounds)
        print(f"{kind:10s} {valid_us:9.1f} {refused_us:11.1f}")


if __name__ == "__main__":
    main()
