"""Settings fail fast and name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.resources import CHECKOUT_DIR
from server.settings import Settings, SettingsError, prepare_data_dir

GOOD = {"COUCHDB_URL": "http://127.0.0.1:5984", "SEGEL_SECRET_KEY": "k" * 40}


def test_defaults_for_local_development() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.port == 8000
    assert settings.origin == "http://localhost:8000"
    assert settings.rp_id == "localhost"
    assert settings.records_db == "segel_records"
    assert not settings.secure_cookies


def test_https_origin_makes_cookies_secure_and_sets_rp_id() -> None:
    settings = Settings.from_env(GOOD | {"SEGEL_ORIGIN": "https://segel.balikpapan.go.id"})
    assert settings.secure_cookies
    assert settings.rp_id == "segel.balikpapan.go.id"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SEGEL_SECRET_KEY": "k" * 40}, "COUCHDB_URL"),
        ({"COUCHDB_URL": "ftp://x", "SEGEL_SECRET_KEY": "k" * 40}, "COUCHDB_URL"),
        ({"COUCHDB_URL": "http://x"}, "SEGEL_SECRET_KEY"),
        (GOOD | {"SEGEL_PORT": "eighty"}, "SEGEL_PORT"),
        (GOOD | {"SEGEL_ORIGIN": "https://a.example", "SEGEL_RP_ID": "b.example"}, "SEGEL_RP_ID"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_data_dir_defaults_to_var_only_in_a_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert CHECKOUT_DIR is not None
    assert Settings.from_env(GOOD).data_dir == CHECKOUT_DIR / "var"
    assert Settings.from_env(GOOD | {"SEGEL_DATA_DIR": str(tmp_path)}).data_dir == tmp_path
    monkeypatch.setattr("server.settings.CHECKOUT_DIR", None)  # as when installed from the wheel
    with pytest.raises(SettingsError, match="SEGEL_DATA_DIR is not set"):
        Settings.from_env(GOOD)


def test_unwritable_data_dir_is_refused_before_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings.from_env(GOOD | {"SEGEL_DATA_DIR": str(blocker / "data")})
    with pytest.raises(SettingsError, match="not writable"):
        prepare_data_dir(settings)
    writable = Settings.from_env(GOOD | {"SEGEL_DATA_DIR": str(tmp_path / "new" / "data")})
    assert prepare_data_dir(writable).is_dir()
    assert list(prepare_data_dir(writable).iterdir()) == []  # the write probe is gone


SMTP = {"SEGEL_SENDER": "smtp", "SEGEL_SMTP_HOST": "mail.example", "SEGEL_SMTP_FROM": "a@b.example"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SEGEL_SENDER": "pigeon"}, "SEGEL_SENDER"),
        (SMTP, "SEGEL_SMTP_TO_DOMAIN"),
        ({**SMTP, "SEGEL_SMTP_TO_DOMAIN": "sms.example", "SEGEL_SMTP_PORT": "x"}, "SEGEL_SMTP_PORT"),
        ({**SMTP, "SEGEL_SMTP_TO_DOMAIN": "sms.example", "SEGEL_SMTP_TLS": "maybe"}, "SEGEL_SMTP_TLS"),
        ({"SEGEL_SENDER": "http"}, "SEGEL_SMS_GATEWAY_URL"),
        ({"SEGEL_SENDER": "http", "SEGEL_SMS_GATEWAY_URL": "gateway.example/send"}, "SEGEL_SMS_GATEWAY_URL"),
    ],
)
def test_an_incomplete_message_sender_is_refused_at_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(GOOD | env)


def test_the_sender_defaults_to_the_log_file_and_keeps_secrets_out_of_repr() -> None:
    assert Settings.from_env(GOOD).sender == "log"
    settings = Settings.from_env(
        GOOD
        | {
            "SEGEL_SENDER": "http",
            "SEGEL_SMS_GATEWAY_URL": "https://sms.example/send",
            "SEGEL_SMS_GATEWAY_TOKEN": "tok-secret",
        }
    )
    assert (settings.sender, settings.sms_gateway_token) == ("http", "tok-secret")
    assert "tok-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("origin", "rp_id"),
    [
        ("https://notexample.com", "example.com"),  # a suffix of the string, not a parent domain
        ("https://example.com", "com"),  # a public suffix: every .com site could use the passkey
        ("https://segel.balikpapan.go.id", "go.id"),  # a public suffix of Indonesia's government
        ("https://segel.github.io", "github.io"),  # a public suffix from the list's private section
        ("https://segel.example.go.id", "other.go.id"),
        ("http://127.0.0.1:8000", "0.0.1"),
    ],
)
def test_rp_id_must_be_a_registrable_parent_domain_of_the_origin(origin: str, rp_id: str) -> None:
    with pytest.raises(SettingsError, match="SEGEL_RP_ID"):
        Settings.from_env(GOOD | {"SEGEL_ORIGIN": origin, "SEGEL_RP_ID": rp_id})


@pytest.mark.parametrize(
    ("origin", "rp_id"),
    [
        ("https://segel.balikpapan.go.id", "balikpapan.go.id"),
        ("https://segel.balikpapan.go.id", "SEGEL.balikpapan.go.id"),
        ("https://example.com", "example.com"),
        ("http://localhost:8000", "localhost"),
    ],
)
def test_rp_id_may_be_the_host_or_its_registrable_domain(origin: str, rp_id: str) -> None:
    assert Settings.from_env(GOOD | {"SEGEL_ORIGIN": origin, "SEGEL_RP_ID": rp_id}).rp_id == rp_id.lower()


def test_an_empty_rp_id_means_the_origin_host() -> None:
    settings = Settings.from_env(GOOD | {"SEGEL_ORIGIN": "https://segel.example.go.id", "SEGEL_RP_ID": ""})
    assert settings.rp_id == "segel.example.go.id"


def test_trusted_proxies_are_none_by_default_and_parsed_as_networks() -> None:
    assert Settings.from_env(GOOD).trusted_proxies == ()
    env = GOOD | {"SEGEL_TRUSTED_PROXIES": "10.0.0.5, 172.18.0.0/16,::1"}
    proxies = Settings.from_env(env).trusted_proxies
    assert [str(network) for network in proxies] == ["10.0.0.5/32", "172.18.0.0/16", "::1/128"]
    with pytest.raises(SettingsError, match="SEGEL_TRUSTED_PROXIES"):
        Settings.from_env(GOOD | {"SEGEL_TRUSTED_PROXIES": "10.0.0.5, proxy.local"})
