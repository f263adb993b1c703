#!/bin/sh
# Create the secret files the compose files name (`file: ./secrets/<name>`),
# each missing one with a random value; existing files are left alone.
#
#   deploy/compose/make-secrets.sh [COMPOSE_FILE [OVERRIDE ...]]
#
# Default: ./docker-compose.yml. Compose resolves every file's relative paths
# from the first file's directory, so the secrets go to <that directory>/secrets.
#
# The directory is 0700 so other users of the host cannot read it; the files
# are 0644 because Compose bind-mounts each one into its container unchanged
# and the processes there run as their own users (vigil 10001, postgres 999).
# Replace the random receiver keys (PagerDuty, Slack, ...) with real ones.
set -eu
[ $# -gt 0 ] || set -- docker-compose.yml
dir=$(dirname "$1")/secrets
names=$(sed -n 's|.*{file: \./secrets/\([A-Za-z0-9_.-]*\)}.*|\1|p' "$@")
if [ -z "$names" ]; then
  echo "make-secrets: no 'file: ./secrets/...' secrets in $*" >&2
  exit 1
fi
mkdir -p "$dir"
chmod 0700 "$dir"
for name in $names; do
  if [ ! -e "$dir/$name" ]; then
    (umask 022; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$dir/$name")
    echo "created $dir/$name"
  fi
done
