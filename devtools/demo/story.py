"""Which custody story a demo document lives through: sealed and waiting, carried, delivered (to the
resident or a representative), failed and returned, lost, or reprinted after the rain, each stopping at
"now" like real life would. The records each step writes are `devtools/demo/steps.py`'s.
"""

from __future__ import annotations

from devtools.demo.office import FEMALE_NAMES, MALE_NAMES, MALE_SURNAMES, RELATIONS
from devtools.demo.steps import Steps
from records.types import JSONDict


class Story(Steps):
    """Plays one document's custody story forward in time."""

    def tell(self, story: str) -> None:
        if not self.seal_envelope():
            return
        if story == "self_pickup":
            self.handoff(
                "delivered",
                self.office_party(),
                self.resident_party(),
                hours=(1, 72),
                at_office=True,
                receipt_code=self.document["receipt_code"],
            )
        if story in ("sealed", "self_pickup") or not self.assign() or story == "assigned":
            return
        if not self.handoff(
            "picked_up", self.office_party(), self.courier_party(), hours=(0.5, 20), at_office=True
        ):
            return
        if story == "in_transit":
            if self.rng.random() < 0.25:
                self.complaint(
                    "not_received",
                    self.staff["id"],
                    "phone",
                    "Warga menelepon: status dokumen sudah dibawa kurir tapi belum sampai di rumah.",
                )
            return
        if story in ("failed_then_delivered", "failed_pending", "returned"):
            reason = self.rng.choice(("not_at_home", "not_at_home", "address_not_found", "refused"))
            if (
                not self.handoff(
                    "failed_attempt",
                    self.courier_party(),
                    self.courier_party(),
                    hours=(1, 8),
                    failure_reason=reason,
                )
                or story == "failed_pending"
            ):
                return
            if story == "returned":
                self.handoff(
                    "returned",
                    self.courier_party(),
                    self.office_party(),
                    hours=(4, 30),
                    at_office=True,
                    note="Dua kali gagal antar, dikembalikan ke kantor untuk diambil sendiri.",
                )
                return
        if story == "lost":
            self.handoff(
                "lost",
                self.courier_party(),
                self.office_party(),
                hours=(2, 30),
                seal_missing=True,
                note="Kurir melaporkan tas berisi dokumen hilang di perjalanan; laporan polisi dibuat.",
            )
        elif story == "reprinted":
            self._reprint()
        else:
            self._deliver(to_representative=story == "delivered_to_representative")

    def _deliver(self, to_representative: bool) -> None:
        condition, scanned, note = "intact", self.seal, None
        roll = self.rng.random()
        if roll < 0.05:
            condition, note = "damaged", "Segel sobek di salah satu sisi, amplop masih tertutup."
        elif roll < 0.08:
            scanned = (
                self.seal[:-2] + self.seal[-1] + self.seal[-2]
            )  # a transposed digit: mismatch to follow up
            note = "Nomor segel tidak sesuai saat dipindai."
        if to_representative:
            name = f"{self.rng.choice(FEMALE_NAMES + MALE_NAMES)} {self.rng.choice(MALE_SURNAMES)}"
            receiver = {"party": "representative", "name": name}
            proof: JSONDict = {"representative": {"name": name, "relation": self.rng.choice(RELATIONS)}}
        else:
            receiver, proof = self.resident_party(), {"receipt_code": self.document["receipt_code"]}
        done = self.handoff(
            "delivered",
            self.courier_party(),
            receiver,
            hours=(1, 10),
            scanned=scanned,
            condition=condition,
            note=note,
            **proof,
        )
        if done and condition == "damaged":
            self.complaint(
                "seal_broken",
                "resident",
                "resident_page",
                "Amplop diterima dengan segel sobek. Isinya lengkap tapi mohon dicek karena saya khawatir.",
            )

    def _reprint(self) -> None:
        """Rain-soaked envelope: returned with a damaged seal, reprinted, sealed again and delivered."""
        if not self.handoff(
            "returned",
            self.courier_party(),
            self.office_party(),
            hours=(1, 8),
            at_office=True,
            condition="damaged",
            note="Amplop basah kena hujan, segel rusak; dikembalikan.",
        ):
            return
        if not self.handoff(
            "reprinted",
            self.office_party(),
            self.office_party(),
            hours=(2, 24),
            at_office=True,
            condition="damaged",
            note="Dokumen lama dibatalkan dan dicetak ulang.",
        ):
            return
        if self.seal_envelope() and self.handoff(
            "picked_up", self.office_party(), self.courier_party(), hours=(1, 20), at_office=True
        ):
            self._deliver(to_representative=False)
