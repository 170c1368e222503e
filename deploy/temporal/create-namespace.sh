#!/bin/sh
# Creates Chainflow's namespace and search attributes on the Temporal server (idempotent).
# Runs in temporalio/admin-tools. The names and types are pinned in DESIGN.md (Temporal).
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-chainflow}"
RETENTION="${TEMPORAL_RETENTION:-30d}"

# Retries a command (the server needs a moment before a new namespace is usable).
retry() {
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge 30 ]; then echo "gave up: $*" >&2; return 1; fi
    attempt=$((attempt + 1)); sleep 2
  done
}

retry temporal operator cluster health --address "$ADDRESS"
if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  retry temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
fi

for attribute in ChainId:Keyword ChainVersion:Int BotId:Keyword Channel:Keyword CurrentNode:Keyword; do
  name="${attribute%%:*}"
  type="${attribute#*:}"
  if temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    retry temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" --name "$name" --type "$type"
  fi
done
echo "namespace $NAMESPACE is ready"
