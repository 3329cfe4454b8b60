#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (browser checks: /docs, the sale page). Idempotent.
# Prints the browser's path on success. Tests find it through CHROMIUM_PATH or /usr/bin/chromium.
set -euo pipefail
bin=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then echo "chromium missing and not root: apt-get install chromium" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
fi
echo "$bin"
