#!/usr/bin/env bash
# The edge proxy is Debian's (or Ubuntu's) nginx package (bot/ops/edge.py).
# Installs it when it is missing; `make run-prod` and the tests need it.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
"$(dirname "$0")/ensure_package.sh" nginx nginx --no-install-recommends
# the package's own service is not ours: the launcher runs nginx with our configuration
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  if [ "$(id -u)" = "0" ]; then systemctl disable --now nginx >/dev/null 2>&1 || true
  else sudo systemctl disable --now nginx >/dev/null 2>&1 || true; fi
fi
