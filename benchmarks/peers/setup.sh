#!/usr/bin/env bash
# Install what the peer engines need. Idempotent: safe to run repeatedly.
#   lucene_arabic   -> Debian liblucene8-java (jars in /usr/share/java) + a JDK (javac)
#   sqlite_fts5     -> Python's stdlib sqlite3 (needs FTS5 compiled in; checked below)
#   whoosh_standard -> PyPI package whoosh-reloaded (import name: whoosh)
set -euo pipefail

APT_PKGS=(liblucene8-java default-jdk-headless)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}" >&2
    # Refresh the package lists only if they are missing or the install fails without it.
    if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
        $SUDO apt-get update -qq
    fi
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c "import whoosh" 2>/dev/null; then
    "$PY" -m pip install -q whoosh-reloaded
fi

# Sanity checks: the three Lucene jars with the classes we use, javac, FTS5, whoosh.
command -v javac >/dev/null || { echo "setup.sh: javac not found" >&2; exit 1; }
"$PY" "$(dirname "$0")/peers.py" check
