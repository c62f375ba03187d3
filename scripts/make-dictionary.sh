#!/usr/bin/env bash
# Produces the wordgame server's default dictionary from Debian's `wamerican`
# word list (/usr/share/dict/american-english).
#
#   scripts/make-dictionary.sh [OUT]      (default OUT: bin/words.txt)
#
# Words are copied as they are (one per line); the server normalises them
# (trim, upper-case, keep ^[A-Z]+$) when it loads the file. The output is
# git-ignored (bin/) and never committed. Up to date OUT: nothing to do.
# Missing word list: as root with apt-get, installs `wamerican`; otherwise
# prints the command that installs it and exits 1.
set -euo pipefail

OUT=${1:-bin/words.txt}
SRC=${WORDGAME_WORDLIST:-/usr/share/dict/american-english}

if [ ! -r "$SRC" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "make-dictionary: installing wamerican for $SRC" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq wamerican >/dev/null
    else
        echo "make-dictionary: $SRC is missing; install it with:" >&2
        echo "    sudo apt-get install -y wamerican" >&2
        echo "(or point WORDGAME_WORDLIST at any one-word-per-line list)" >&2
        exit 1
    fi
fi

if [ -s "$OUT" ] && [ "$OUT" -nt "$SRC" ]; then
    exit 0
fi

mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp "$OUT.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cp "$SRC" "$tmp"
# Same rule as the server, only to report the count and to fail on an empty list.
n=$(LC_ALL=C tr -d ' \t\r' <"$tmp" | LC_ALL=C tr '[:lower:]' '[:upper:]' | LC_ALL=C grep -c '^[A-Z][A-Z]*$' || true)
if [ "${n:-0}" -eq 0 ]; then
    echo "make-dictionary: $SRC holds no usable word" >&2
    exit 1
fi
mv "$tmp" "$OUT"
trap - EXIT
echo "make-dictionary: wrote $OUT from $SRC ($n playable words)" >&2
