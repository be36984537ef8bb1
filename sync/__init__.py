"""The sync gateway: CouchDB's replication protocol at /sync, with visibility, write rules and projections."""
