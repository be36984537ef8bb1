#!/bin/sh
# Joins couchdb-1..3 into one cluster through CouchDB's /_cluster_setup API (docker compose --profile cluster).
# Safe to run again: a finished cluster answers "cluster_finished" and nothing changes.
set -eu
A="$COUCHDB_USER:$COUCHDB_PASSWORD"
C="http://couchdb-1.segel:5984"
state=$(curl -fs -u "$A" "$C/_cluster_setup" || echo '{}')
case "$state" in *cluster_finished*) echo "cluster already set up"; exit 0;; esac
for n in 1 2 3; do
  curl -fs -u "$A" -X POST -H 'Content-Type: application/json' "$C/_cluster_setup" -d "{\"action\":\"enable_cluster\",\"bind_address\":\"0.0.0.0\",\"username\":\"$COUCHDB_USER\",\"password\":\"$COUCHDB_PASSWORD\",\"node_count\":\"3\",\"remote_node\":\"couchdb-$n.segel\",\"port\":5984,\"remote_current_user\":\"$COUCHDB_USER\",\"remote_current_password\":\"$COUCHDB_PASSWORD\"}"
  [ "$n" = 1 ] || curl -fs -u "$A" -X POST -H 'Content-Type: application/json' "$C/_cluster_setup" -d "{\"action\":\"add_node\",\"host\":\"couchdb-$n.segel\",\"port\":5984,\"username\":\"$COUCHDB_USER\",\"password\":\"$COUCHDB_PASSWORD\"}"
done
curl -fs -u "$A" -X POST -H 'Content-Type: application/json' "$C/_cluster_setup" -d '{"action":"finish_cluster"}'
curl -fs -u "$A" "$C/_membership"
