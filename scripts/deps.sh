#!/usr/bin/env bash
# deps.sh [extra packages...]: install the Debian packages SystemK builds and
# tests with, when they are missing.  Needs root (or sudo) only if something
# is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config patch libcjson-dev liblmdb-dev check
      util-linux procps jq "$@")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
