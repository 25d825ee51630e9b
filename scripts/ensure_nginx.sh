#!/usr/bin/env bash
# The edge proxy is Debian's (or Ubuntu's) nginx package (bot/ops/edge.py).
# Installs it when it is missing; `make run-prod` and the tests need it.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
echo "==> installing nginx (the edge proxy)"
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
# the package's own service is not ours: the launcher runs nginx with our configuration
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
ls /usr/sbin/nginx
