"""Authentication reads a token (or session) and its user in one request, remembering only which user a
token belongs to: revoking the user or the token still takes effect on the very next request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import (
    bearer,
    issue_device_token,
    make_user,
    open_session,
    revoke_device_token,
    revoke_user,
    sign_in,
)

pytestmark = pytest.mark.anyio


async def test_a_user_revoked_after_their_token_was_used_is_refused_next_request(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "grab.dedi", "courier", partner="grab")
    token = await issue_device_token(couch, settings, "grab.dedi")
    for _ in range(3):  # used a few times: the token's owner is now remembered by this process
        assert client.get("/sync/records/", headers=bearer(token)).status_code == 200
    await revoke_user(couch, settings, "grab.dedi")
    assert client.get("/sync/records/", headers=bearer(token)).status_code == 401


async def test_a_token_revoked_after_use_and_a_session_of_a_revoked_user_are_refused(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek")
    await make_user(couch, settings, "budi.santoso", "staff")
    token = await issue_device_token(couch, settings, "gojek.andi")
    assert client.get("/sync/records/", headers=bearer(token)).status_code == 200
    await revoke_device_token(couch, settings, token)
    assert client.get("/sync/records/", headers=bearer(token)).status_code == 401
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    assert client.get("/auth/me").json()["user_id"] == "budi.santoso"
    await revoke_user(couch, settings, "budi.santoso")
    assert client.get("/auth/me").status_code == 401
