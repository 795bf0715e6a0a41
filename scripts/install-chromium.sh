#!/usr/bin/env bash
# Installs Debian's `chromium` (the browser of the real-browser tests, test/e2e/browser.e2e.test.ts),
# when it is missing: apt-get as root. Without root or apt-get it says so and exits 1; the
# browser tests are then SKIPPED with a message, or fail under CI=true (nothing else needs
# Chromium). The tests drive it with playwright-core and `executablePath` (no browser download).
# INTAKE_FORCE_INSTALL_FAIL=chromium makes it fail as if the install had failed.
set -euo pipefail
say() { echo "intake: $*" >&2; }
if [[ ",${INTAKE_FORCE_INSTALL_FAIL:-}," == *,chromium,* ]]; then
  say "chromium: install failed on purpose (INTAKE_FORCE_INSTALL_FAIL names chromium)"
  exit 1
fi
[[ -x /usr/bin/chromium ]] && exit 0
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  say "chromium is missing: install it with 'sudo apt-get install chromium' (Debian)"
  exit 1
fi
say "installing chromium from Debian (apt-get install chromium, once) ..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >&2 \
  || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends chromium >&2; }
