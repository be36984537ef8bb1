"""Identity: offices, users, passkeys (WebAuthn), sessions, device tokens, audit log, custody signatures."""
