#!/usr/bin/env bash
# The system tools the test suite runs, from Debian's apt, installed only when missing (a second
# run makes no network call): promtool and prometheus (package prometheus) for the metrics,
# scrape and dashboard tests; redis-server for tests of a rate-limit quota shared through Redis.
# Everything else the tests need comes from the lockfile (npm ci).
set -euo pipefail

missing=()
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then missing+=(prometheus); fi
if ! command -v redis-server >/dev/null; then missing+=(redis-server); fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if ! command -v apt-get >/dev/null; then
  echo "test/install-deps.sh: the tests need ${missing[*]}; without apt-get, install them with your package manager" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
echo "test/install-deps.sh: installing ${missing[*]} with apt-get" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
