#!/usr/bin/env bash
# Entry point of `npm run up|down|status`: installs and builds what is missing, then
# runs the intake CLI with the given arguments.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Thousands of producers' connections: the fleet's processes inherit this descriptor limit
# (nginx raises its own, infra/nginx/nginx.conf.tmpl).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "${1:-}" == up ]]; then
  bash "$root/scripts/bootstrap.sh"
elif [[ ! -f "$root/dist/services/cli/main.js" ]]; then
  # down/status on a clone that never ran `up`: nothing can be running from it.
  [[ -d "$root/node_modules" ]] || { echo "intake: no fleet is running (this clone was never started)" >&2; exit 0; }
  bash "$root/scripts/bootstrap.sh"
fi
exec node "$root/dist/services/cli/main.js" "$@"
