"""The storage seam: the only package that speaks CouchDB's HTTP API (client, bootstrap, design documents)."""
