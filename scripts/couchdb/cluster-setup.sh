#!/bin/sh
# Joins CouchDB nodes into one cluster by hand, as CouchDB's docs describe for a manual cluster, and creates
# the system databases. Used by docker-compose.yml (--profile cluster) and by the test fixtures
# (SEGEL_TEST_COUCHDB=cluster), so production and tests form the cluster with the same steps.
#
#   cluster-setup.sh SEED_URL NODE_NAME...      e.g. http://couchdb-1.segel:5984 couchdb@couchdb-2.segel ...
#   environment: COUCHDB_USER, COUCHDB_PASSWORD (the admin every node shares)
#
# Safe to run again: a node already joined answers 409, a database that exists 412; nothing changes.
# Every node must share the Erlang cookie and [chttpd_auth] secret, and carry segel.ini (q=2, n=3).
set -eu
seed="$1"; shift
auth="$COUCHDB_USER:$COUCHDB_PASSWORD"
call() { # METHOD PATH [BODY]: prints the HTTP status; fails on anything but the codes that mean "done"
  curl -s -o /dev/null -w '%{http_code}' -u "$auth" -X "$1" -H 'Content-Type: application/json' \
    "$seed$2" ${3:+-d "$3"}
}
for node in "$@"; do
  status=$(call PUT "/_node/_local/_nodes/$node" '{}')
  case "$status" in 201|202|409) ;; *) echo "joining $node: HTTP $status" >&2; exit 1 ;; esac
done
for db in _users _replicator; do
  status=$(call PUT "/$db")
  case "$status" in 201|202|412) ;; *) echo "creating $db: HTTP $status" >&2; exit 1 ;; esac
done
curl -fsS -u "$auth" "$seed/_membership"
echo
