"""Invented but realistic demo data for one office, Disdukcapil Kota Balikpapan (6471).

The demo has to look like a real fortnight at the office, so that every page has something true to show:
documents in every state, handoff chains that verify, a seal broken on the way, a lost envelope, a reprint,
and a week of mobile-van recording. Everything comes from one seeded `random.Random` (`draw.py`), so a seed
and a date always give the same records (tests rely on it), and nothing here does I/O:
`devtools/demo/loader.py` writes it. Every record passes `records.schemas.validate_record`.

Where each part is: the office, its people and places (`office.py`); the documents and their chains
(`documents.py`), the story each one lives (`story.py`) and the records its steps write (`steps.py`); the
van's week (`van.py`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time

from devtools.demo import van
from devtools.demo.documents import Signer, documents
from devtools.demo.draw import Drawer
from devtools.demo.office import DOCUMENT_COUNT, WITA, DemoData, demo_people


def generate_demo(
    seed: int = 20261123, today: date | None = None, *, signer: Signer | None = None
) -> DemoData:
    """Build the demo for `today` (default: the real today); the same seed and day give the same data.

    With a `signer`, handoffs are signed as their authors' phones would have signed them (the demo loader
    signs with keys that exist only while it runs); without one they carry `NO_SIGNER_REASON` instead. Either
    way every record passes the schemas and every chain verifies.
    """
    day = today or date.today()
    now = datetime.combine(day, time(16, 0), WITA)
    draw = Drawer(random.Random(seed), now)
    records = documents(draw, DOCUMENT_COUNT, signer)
    schedule = van.schedule(draw)
    records.extend(van.visits(draw, schedule))
    people = demo_people()
    return DemoData(office=people.office, users=people.users, records=records, schedule=schedule)
