#!/usr/bin/env bash
# Makes sure a Docker daemon answers: installs Debian's docker.io when dockerd is missing, starts
# dockerd when nothing listens on the socket, then waits for it. Idempotent; needs root.
set -euo pipefail

sock=${DOCKER_SOCK:-/var/run/docker.sock}

if docker version >/dev/null 2>&1; then
  echo "setup-docker: daemon already answers"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "setup-docker: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "setup-docker: starting dockerd (log: /tmp/dockerd.log)"
  nohup dockerd >/tmp/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if [ -S "$sock" ] && docker version >/dev/null 2>&1; then
    echo "setup-docker: daemon ready ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
    exit 0
  fi
  sleep 1
done
echo "setup-docker: dockerd did not answer on $sock within 60s; last log lines:" >&2
tail -n 30 /tmp/dockerd.log >&2 || true
exit 1
