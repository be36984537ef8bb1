"""The steps a demo document's custody story is told in, each writing its records as the office or the
courier's phone would: the seal, the courier's assignment, a handoff with its seal photo, a complaint. A step
happens some hours after the one before, in working hours, and does not happen when that moment is still to
come: the story stops at "now" like real life would (`story.py` says which steps, in what order).

Whether a handoff is signed is settled here, before chaining (`unsigned_reason` is part of the custody hash):
the desk's own handoffs never are, a courier now and then cannot, and the rest wait for the loader's signer.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, time, timedelta

from devtools.demo.draw import Drawer, iso
from devtools.demo.office import COURIERS, KECAMATAN, OFFICE_CODE, OFFICE_NAME, OFFICE_PLACE, WITA
from devtools.demo.photos import SIZE, seal_photo
from records.types import JSONDict

#: Handoffs recorded at the desk (office to office) are the office's own: unsigned, with the desk's reason.
DESK_REASON = "dicatat oleh petugas kantor di meja layanan (tanpa passkey)"
#: Without a signer, the handoffs a passkey would have signed say so instead.
NO_SIGNER_REASON = "data demo tanpa tanda tangan"
#: What a courier types when the passkey does not open; about one handoff in fifteen in the demo.
UNSIGNED_REASONS = (
    "Baterai ponsel hampir habis, passkey tidak bisa dibuka.",
    "Sidik jari tidak terbaca, tangan basah kena hujan.",
    "Ponsel baru, passkey belum didaftarkan ulang.",
    "Penerima terburu-buru, serah terima dicatat tanpa tanda tangan.",
)
UNSIGNED_SHARE = 0.07


class Steps:
    """One document's records so far and the clock of its story."""

    def __init__(self, draw: Drawer, document: JSONDict, created: datetime, staff: JSONDict) -> None:
        self.draw = draw
        self.rng = draw.rng
        self.document = document
        self.clock = created
        self.staff = staff
        self.courier = draw.rng.choice(COURIERS)
        self.handoffs: list[JSONDict] = []
        self.extra: list[JSONDict] = []
        self.seal = ""
        address = document["resident"]["address"]
        kecamatan = next(k for k in KECAMATAN if k.name == address["kecamatan"])
        self.home = (address["lat"], address["lon"]) if "lat" in address else kecamatan.centre

    def seal_envelope(self) -> bool:
        when = self.advance(0.5, 26)
        if when is None:
            return False
        self.seal = self.draw.seal_number()
        self.extra.append(
            {
                "_id": f"seal:{OFFICE_CODE}:{self.seal}",
                "type": "seal",
                "schema_version": 1,
                "office": OFFICE_CODE,
                "created_at": iso(when + timedelta(seconds=5)),
                "author": self.staff["id"],
                "number": self.seal,
                "document_id": self.document["_id"],
                "bound_at": iso(when),
            }
        )
        return self.handoff(
            "sealed", self.office_party(), self.office_party(), hours=(0.01, 0.02), at_office=True
        )

    def assign(self) -> bool:
        when = self.advance(0.2, 6)
        if when is None:
            return False
        self.document["assignment"] = {
            "courier": self.courier["id"],
            "partner": self.courier["partner"],
            "batch": f"B{when:%Y%m%d}-{self.rng.randint(1, 3)}",
            "assigned_at": iso(when),
        }
        return True

    def handoff(
        self,
        kind: str,
        giver: JSONDict,
        taker: JSONDict,
        *,
        hours: tuple[float, float],
        at_office: bool = False,
        scanned: str | None = None,
        seal_missing: bool = False,
        condition: str = "intact",
        note: str | None = None,
        **proof: object,
    ) -> bool:
        """Record one handoff some hours after the previous event; False when that moment is still to come.

        Handoffs at the office are recorded by staff, the others by the courier carrying the envelope.
        """
        when = self.advance(*hours, hours=(8, 16) if at_office else (8, 20))
        if when is None:
            return False
        seal_scanned = None if seal_missing else scanned or self.seal
        handoff: JSONDict = {
            "_id": f"handoff:{self.draw.ulid(when)}",
            "type": "handoff",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": iso(when + timedelta(seconds=self.rng.randint(1, 30))),
            "author": (self.staff if at_office and kind != "picked_up" else self.courier)["id"],
            "document_id": self.document["_id"],
            "seal_number_scanned": seal_scanned,
            "seal_number_expected": self.seal,
            "seal_match": seal_scanned == self.seal,
            "kind": kind,
            "from": giver,
            "to": taker,
            "seal_condition": "missing" if seal_missing else condition,
            "place": self.draw.near(OFFICE_PLACE if at_office else self.home),
            "device_time": iso(when),
            "seq": 1,  # renumbered per author once every story is told
            "photos": [],
            "prev_hash": None,  # chained once every story is told
            "unsigned_reason": self._unsigned_reason(giver, taker),
            **proof,
        }
        if note:
            handoff["note"] = note
        if not seal_missing:
            photo = self._photo(handoff, when)
            handoff["photos"] = [photo["_id"]]
            self.extra.append(photo)
        self.handoffs.append(handoff)
        return True

    def _unsigned_reason(self, giver: JSONDict, taker: JSONDict) -> str:
        """The desk's reason, a courier's reason now and then, else "to be signed" (see _number_and_chain)."""
        if giver["party"] == "office" and taker["party"] == "office":
            return DESK_REASON
        if self.rng.random() < UNSIGNED_SHARE:
            return self.rng.choice(UNSIGNED_REASONS)
        return NO_SIGNER_REASON

    def _photo(self, handoff: JSONDict, when: datetime) -> JSONDict:
        taken = when - timedelta(seconds=self.rng.randint(5, 40))
        photo_id = f"photo:{self.draw.ulid(taken)}"
        portrait = self.rng.random() < 0.5
        image = seal_photo(
            photo_id,
            handoff.get("seal_number_scanned"),
            portrait=portrait,
            damaged=handoff.get("seal_condition") == "damaged",
        )
        return {
            "_id": photo_id,
            "type": "photo",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": iso(taken),
            "author": handoff["author"],
            "handoff_id": handoff["_id"],
            "document_id": handoff["document_id"],
            "attachment": "seal.jpg",
            "sha256": hashlib.sha256(image).hexdigest(),
            "content_type": "image/jpeg",
            "size": len(image),
            "captured_at": iso(taken),
            "place": handoff["place"],
            "width": SIZE[1] if portrait else SIZE[0],
            "height": SIZE[0] if portrait else SIZE[1],
            "_attachments": {
                "seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(image).decode("ascii")}
            },
        }

    def complaint(self, kind: str, author: str, channel: str, description: str) -> None:
        when = self.advance(1, 30, hours=(6, 22))
        if when is None:
            return
        self.extra.append(
            {
                "_id": f"complaint:{self.draw.ulid(when)}",
                "type": "complaint",
                "schema_version": 1,
                "office": OFFICE_CODE,
                "created_at": iso(when),
                "author": author,
                "document_id": self.document["_id"],
                "kind": kind,
                "description": description,
                "channel": channel,
            }
        )

    def advance(
        self, min_hours: float, max_hours: float, hours: tuple[int, int] = (8, 16)
    ) -> datetime | None:
        """Move the story's clock on, into working `hours`; None when that is after "now" (still to come)."""
        when = self.clock + timedelta(seconds=self.rng.randint(int(min_hours * 3600), int(max_hours * 3600)))
        opens, closes = hours
        if when.hour >= closes:
            when = datetime.combine(when.date() + timedelta(days=1), time(opens), WITA)
            when += timedelta(seconds=self.rng.randint(0, 4 * 3600))
        elif when.hour < opens:
            when = datetime.combine(when.date(), time(opens), WITA) + timedelta(
                seconds=self.rng.randint(0, 4 * 3600)
            )
        if when > self.draw.now:
            return None
        self.clock = when
        return when

    def office_party(self) -> JSONDict:
        return {"party": "office", "id": OFFICE_CODE, "name": OFFICE_NAME}

    def courier_party(self) -> JSONDict:
        return {"party": "courier", "id": self.courier["id"], "name": self.courier["name"]}

    def resident_party(self) -> JSONDict:
        return {"party": "resident", "name": self.document["resident"]["name"]}
