#!/usr/bin/env bash
# The suite. Under CI the TAP stream is long and CI keeps only its tail, so a failure far up the
# stream is lost: there the stream is also kept in a temp file and every failing assertion is
# printed again, with its context, at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CI:-}" ]; then exec npx tap "dist/test/**/*.test.js"; fi
log="$(mktemp "${TMPDIR:-/tmp}/hashpipe-tap.XXXXXX")"
trap 'rm -f "$log"' EXIT
npx tap "dist/test/**/*.test.js" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "# ---- failures (repeated from above) ----"
  grep -n -B4 -A30 -E '^[[:space:]]*not ok' "$log" | head -400
  echo "# ---- tap exited $rc ----"
fi
exit "$rc"
