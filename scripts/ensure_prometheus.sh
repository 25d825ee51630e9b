#!/usr/bin/env bash
# The alert rules and Prometheus configuration in deploy/prometheus/ are checked
# with `promtool` (tests/unit/test_metrics_rules.py), which comes with Debian's
# prometheus package. Installs the package when promtool is missing.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing Debian's prometheus for promtool (alert rule checks)"
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool
