"""Everything that talks to CouchDB: client, bootstrap, sync gateway, visibility and validation rules."""
