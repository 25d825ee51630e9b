#!/usr/bin/env bash
# Browser tests drive Debian's chromium with Playwright (no browser is ever
# downloaded by Playwright). Installs the package when it is missing.
exec "$(dirname "$0")/ensure_package.sh" chromium chromium
