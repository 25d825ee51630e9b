#!/usr/bin/env bash
# scripts/ensure_package.sh COMMAND PACKAGE [APT-OPTION...]
# Installs the distribution's PACKAGE when COMMAND is missing (the project's
# tools come from Debian's or Ubuntu's packages, never downloaded otherwise).
set -euo pipefail
command_name=$1 package=$2
shift 2
if command -v "$command_name" >/dev/null 2>&1 || [ -x "/usr/sbin/$command_name" ]; then
  exit 0
fi
echo "==> installing the package $package (for $command_name)"
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" "$package" >/dev/null
command -v "$command_name" || ls "/usr/sbin/$command_name"
