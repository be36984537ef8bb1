"""The PWA harness (an embedded CouchDB, a server and headless Chromium) behind `scripts/screens` and
`scripts/bench/pwa`."""
