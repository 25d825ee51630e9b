#!/usr/bin/env bash
# The alert rules and Prometheus configuration in deploy/prometheus/ are checked
# with `promtool` (tests/unit/test_metrics_rules.py), which comes with Debian's
# prometheus package. Installs the package when promtool is missing.
exec "$(dirname "$0")/ensure_package.sh" promtool prometheus --no-install-recommends
