"""Administration commands for identity: `python -m server <command>` (or `segel <command>`).

Registered into server/cli.py's parser by `register`. Every command reads the same environment as the
server (COUCHDB_URL, SEGEL_SECRET_KEY, SEGEL_ORIGIN…), makes sure the databases exist, acts through the
identity store, and writes an audit entry with actor "cli". Secrets (device tokens, enrollment links) are
printed once and never stored in the clear.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from records.custody import verify_chain
from records.principal import ROLES
from server.databases import prepare_databases
from server.identity.audit import record_event
from server.identity.enrollment import enrollment_url, qr_terminal
from server.identity.passkeys import ENROLLMENT_TTL_S
from server.identity.store import IdentityError, IdentityStore
from server.settings import Settings, open_couch

Action = Callable[[IdentityStore, argparse.Namespace], Awaitable[int]]

# Commands whose one argument is a passkey's credential id: base64url, so about one in 64 starts with "-",
# which argparse would take for an option ("the following arguments are required") and leave the
# administrator unable to revoke a lost phone's passkey as list-passkeys printed it.
_CREDENTIAL_COMMANDS = frozenset({"revoke-passkey"})


def _command(action: Action) -> Callable[[argparse.Namespace], Awaitable[int]]:
    """Wrap an action with settings, a CouchDB client, bootstrap, and readable errors."""

    async def run(args: argparse.Namespace) -> int:
        settings = Settings.from_env()
        couch = open_couch(settings)
        try:
            await prepare_databases(couch, settings)
            return await action(IdentityStore(couch, settings), args)
        except IdentityError as exc:
            print(f"segel: {exc}", file=sys.stderr)
            return 1
        finally:
            await couch.aclose()

    return run


def protect_credential_ids(argv: list[str]) -> list[str]:
    """`argv` with `--` put before a credential id that starts with "-", so it is read as the id."""
    if len(argv) == 2 and argv[0] in _CREDENTIAL_COMMANDS:
        looks_like_option = argv[1].startswith("-") and argv[1] not in ("-h", "--help", "--")
        if looks_like_option:
            return [argv[0], "--", argv[1]]
    return argv


async def _audit(store: IdentityStore, event: str, **fields: Any) -> None:
    await record_event(store.couch, store.settings, event, actor="cli", **fields)


async def create_office(store: IdentityStore, args: argparse.Namespace) -> int:
    office, created = await store.create_office(args.code, args.name, args.timezone)
    if created:
        await _audit(store, "office_created", office=args.code)
    print(f"kantor {office['code']} ({office['name']}): {'dibuat' if created else 'sudah ada'}")
    return 0


async def create_user(store: IdentityStore, args: argparse.Namespace) -> int:
    user, created = await store.create_user(
        args.user_id,
        args.role,
        office=args.office,
        name=args.name,
        partner=args.partner,
        van=args.van,
        phone=args.phone,
    )
    if created:
        await _audit(store, "user_created", user_id=args.user_id, office=args.office)
    print(
        f"pengguna {user['user_id']} ({user['role']}, kantor {user['office']}): "
        f"{'dibuat' if created else 'sudah ada, tidak diubah'}"
    )
    return 0


async def enroll_link(store: IdentityStore, args: argparse.Namespace) -> int:
    user = await store.get_user(args.user_id)
    if user is None:
        raise IdentityError(f"No user {args.user_id!r}: create it first (create-user).")
    if args.revoke_old:
        for credential in await store.credentials_of(args.user_id):
            if not credential.get("revoked"):
                await store.revoke_credential(str(credential["credential_id"]))
                await _audit(
                    store,
                    "passkey_revoked",
                    user_id=args.user_id,
                    credential_id=str(credential["credential_id"]),
                )
    token = await store.create_enrollment(args.user_id, created_by="cli", ttl_s=int(args.hours * 3600))
    await _audit(store, "enrollment_link_issued", user_id=args.user_id, office=user.get("office"))
    url = enrollment_url(store.settings, token)
    print(
        f"Tautan pendaftaran untuk {user.get('name')} ({args.user_id}), "
        f"berlaku {args.hours:g} jam, sekali pakai:"
    )
    print(url)
    if not args.no_qr:
        print(qr_terminal(url))
    return 0


async def revoke_user(store: IdentityStore, args: argparse.Namespace) -> int:
    changed = await store.revoke_user(args.user_id)
    if changed:
        await _audit(store, "user_revoked", user_id=args.user_id)
    print(f"pengguna {args.user_id}: {'dinonaktifkan' if changed else 'sudah nonaktif'}")
    return 0


async def list_passkeys(store: IdentityStore, args: argparse.Namespace) -> int:
    for credential in await store.credentials_of(args.user_id):
        state = "dicabut" if credential.get("revoked") else "aktif"
        print(
            f"{credential['credential_id']}  {state:8} {credential.get('label') or '-':20} "
            f"dibuat {credential['created_at']}  terakhir {credential.get('last_used_at') or '-'}"
        )
    return 0


async def revoke_passkey(store: IdentityStore, args: argparse.Namespace) -> int:
    credential = await store.revoke_credential(args.credential_id)
    await _audit(store, "passkey_revoked", user_id=credential["user_id"], credential_id=args.credential_id)
    print(f"passkey {args.credential_id} milik {credential['user_id']}: dicabut")
    return 0


async def issue_token(store: IdentityStore, args: argparse.Namespace) -> int:
    issued = await store.issue_token(args.user_id, args.label)
    await _audit(store, "token_issued", user_id=args.user_id, token_id=issued.token_id)
    print(
        f"Token perangkat untuk {args.user_id} (id {issued.token_id}). "
        "Simpan sekarang, tidak ditampilkan lagi:"
    )
    print(issued.token)
    return 0


async def revoke_token(store: IdentityStore, args: argparse.Namespace) -> int:
    token = await store.revoke_token(args.token_id)
    await _audit(store, "token_revoked", user_id=token["user_id"], token_id=args.token_id)
    print(f"token {args.token_id} milik {token['user_id']}: dicabut")
    return 0


async def verify_chain_command(store: IdentityStore, args: argparse.Namespace) -> int:
    records = store.couch.db(store.settings.records_db)
    result = await records.view(
        "records",
        "handoffs_by_document",
        startkey=json.dumps([args.document_id]),
        endkey=json.dumps([args.document_id, {}]),
        include_docs=True,
    )
    handoffs = [row["doc"] for row in result["rows"]]
    if not handoffs:
        print(f"dokumen {args.document_id}: tidak ada serah terima (no handoffs found)", file=sys.stderr)
        return 1
    report = verify_chain(handoffs)
    for index, handoff in enumerate(handoffs):
        bad = report.bad_link is not None and report.bad_link.index == index
        mark = "RUSAK" if bad else ("ok" if report.bad_link is None or index < report.bad_link.index else "?")
        print(f"{index + 1:3}. {mark:5} {handoff.get('kind', '?'):15} {handoff['_id']}")
    await _audit(
        store,
        "chain_verified" if report.ok else "chain_broken",
        outcome="ok" if report.ok else "refused",
        reason=None if report.bad_link is None else f"#{report.bad_link.index + 1}: {report.bad_link.reason}",
        document_id=args.document_id,
        record_id=None if report.bad_link is None else report.bad_link.record_id,
    )
    if report.bad_link is not None:
        print(
            f"Rantai rusak di serah terima #{report.bad_link.index + 1} ({report.bad_link.record_id}): "
            f"{report.bad_link.reason}"
        )
        return 1
    print(f"Rantai utuh: {report.length} serah terima. (Chain intact.)")
    return 0


async def purge_expired(store: IdentityStore, args: argparse.Namespace) -> int:
    deleted = await store.purge_expired(grace_s=int(args.grace_hours * 3600))
    print(f"{deleted} dokumen kedaluwarsa dihapus (tantangan, sesi, batas percobaan). (expired, removed)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the identity commands to the `segel` parser."""
    p = sub.add_parser("create-office", help="create an office (Disdukcapil of one regency/city)")
    p.add_argument("code", help="4-digit office code, e.g. 6471")
    p.add_argument("name", help="e.g. 'Disdukcapil Kota Balikpapan'")
    p.add_argument("--timezone", help="IANA zone of its times, e.g. Asia/Makassar (default: its province's)")
    p.set_defaults(handler=_command(create_office))

    p = sub.add_parser("create-user", help="create a user with a role and an office")
    p.add_argument("user_id", help="e.g. gojek.andi")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--office", help="office code (required for every role but admin)")
    p.add_argument("--name", help="display name")
    p.add_argument("--partner", help="delivery partner of a courier: gojek, grab, pos_indonesia, …")
    p.add_argument("--van", help="van of a van operator, e.g. van-balikpapan-1")
    p.add_argument("--phone", help="mobile number the office reaches the person on, e.g. 081234567890")
    p.set_defaults(handler=_command(create_user))

    p = sub.add_parser("enroll-link", help="print a one-time enrollment link (URL and QR code) for a user")
    p.add_argument("user_id")
    p.add_argument("--hours", type=float, default=ENROLLMENT_TTL_S / 3600, help="validity (default 24)")
    p.add_argument("--revoke-old", action="store_true", help="also revoke the user's existing passkeys")
    p.add_argument("--no-qr", action="store_true", help="print only the URL")
    p.set_defaults(handler=_command(enroll_link))

    p = sub.add_parser("revoke-user", help="disable a user: sessions, tokens and passkeys stop at once")
    p.add_argument("user_id")
    p.set_defaults(handler=_command(revoke_user))

    p = sub.add_parser("list-passkeys", help="list a user's passkeys")
    p.add_argument("user_id")
    p.set_defaults(handler=_command(list_passkeys))

    p = sub.add_parser("revoke-passkey", help="revoke one passkey (e.g. of a lost phone)")
    p.add_argument("credential_id", help="as printed by list-passkeys")
    p.set_defaults(handler=_command(revoke_passkey))

    p = sub.add_parser("issue-token", help="issue a device token for a machine client (shown once)")
    p.add_argument("user_id")
    p.add_argument("--label", default="device", help="what the token is for")
    p.set_defaults(handler=_command(issue_token))

    p = sub.add_parser("revoke-token", help="revoke a device token by its id")
    p.add_argument("token_id", help="the 16-hex-digit id printed by issue-token")
    p.set_defaults(handler=_command(revoke_token))

    p = sub.add_parser("verify-chain", help="walk a document's custody chain and name the first bad link")
    p.add_argument("document_id", help="e.g. document:01JD…")
    p.set_defaults(handler=_command(verify_chain_command))

    p = sub.add_parser("purge-identity", help="delete expired challenges, sessions and rate-limit counters")
    p.add_argument("--grace-hours", type=float, default=24.0, help="keep what expired less than this ago")
    p.set_defaults(handler=_command(purge_expired))
