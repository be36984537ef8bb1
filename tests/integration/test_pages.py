"""The PWA shell, its static files and the error pages, as a browser receives them."""

from __future__ import annotations

import dataclasses
import json

from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.static import IMMUTABLE, STATIC_DIR


def test_shell_page_links_manifest_service_worker_and_built_bundle(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'lang="id"' in html
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    bundle = json.loads((STATIC_DIR / "dist" / "asset-manifest.json").read_text())["assets"]["app.js"]
    assert bundle in html
    assert client.get(bundle).status_code == 200


def test_hashed_bundle_is_cached_forever_and_plain_files_revalidate(client: TestClient) -> None:
    bundle = json.loads((STATIC_DIR / "dist" / "asset-manifest.json").read_text())["assets"]["app.js"]
    assert client.get(bundle).headers["cache-control"] == IMMUTABLE
    assert client.get("/static/css/segel.css").headers["cache-control"] == "no-cache"


def test_service_worker_is_served_from_root_and_never_cached(client: TestClient) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    assert "caches.delete" in response.text  # old caches are removed on activate


def test_manifest_is_installable(client: TestClient) -> None:
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_unknown_page_gets_an_indonesian_404_page(client: TestClient) -> None:
    response = client.get("/tidak-ada", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.text
    assert "Kembali ke beranda" in response.text


def test_unknown_api_path_gets_a_couchdb_style_json_404(client: TestClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert response.json()["reason"]


def test_schemas_are_served_as_is(client: TestClient) -> None:
    response = client.get("/schemas/handoff.schema.json")
    assert response.status_code == 200
    assert response.json()["$schema"].endswith("2020-12/schema")
    assert client.get("/schemas/nope.schema.json").status_code == 404


def test_a_deployment_on_https_sets_a_secure_language_cookie(settings: Settings) -> None:
    """Behind a TLS-terminating proxy the app sees plain HTTP; its https origin still makes the cookie
    Secure, like the session cookie, and the app shell can read it (not HttpOnly)."""
    deployed = dataclasses.replace(settings, origin="https://segel.example", rp_id="segel.example")
    with TestClient(create_app(deployed), base_url="http://segel.example") as client:
        cookies = client.get("/auth/login?lang=en").headers.get_list("set-cookie")
    [cookie] = [c for c in cookies if c.startswith("lang=")]
    assert cookie.startswith("lang=en;") and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "HttpOnly" not in cookie
