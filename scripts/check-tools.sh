#!/usr/bin/env bash
# Checks the external tools perfkit needs: Go (`go`), Graphviz (`dot`) and,
# for browser tests, Chromium (`chromium`); for monitoring tests, Prometheus (`prometheus`,
# which brings promtool); for benchmarks, `wrk`.
#
# - Everything present: prints one summary line, exits 0.
# - Something missing, running as root on Debian: installs the missing
#   Debian packages with apt-get (apt-get update runs once), then re-checks.
# - Otherwise: prints one command line that would install them. Exits 1 if
#   go or dot is missing; a missing chromium is only a warning.
#
# Go's official tarball lives in /usr/local/go/bin, which non-interactive
# shells often lack on PATH: it is checked too, and a hint is printed.
set -uo pipefail

GO_DIR=/usr/local/go/bin
hints=()

find_go() {
    if command -v go >/dev/null 2>&1; then
        command -v go
    elif [ -x "$GO_DIR/go" ]; then
        echo "$GO_DIR/go"
    else
        return 1
    fi
}

find_chromium() {
    local c
    for c in chromium chromium-browser; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

# Fills the globals: go_bin, dot_bin, chromium_bin ("" when missing).
check() {
    go_bin=$(find_go) || go_bin=""
    dot_bin=$(command -v dot 2>/dev/null) || dot_bin=""
    chromium_bin=$(find_chromium) || chromium_bin=""
    prometheus_bin=$(command -v prometheus 2>/dev/null) || prometheus_bin=""
    promtool_bin=$(command -v promtool 2>/dev/null) || promtool_bin=""
    wrk_bin=$(command -v wrk 2>/dev/null) || wrk_bin=""
    compose_bin=$(command -v docker-compose 2>/dev/null) || compose_bin=""
}

missing_pkgs() {
    local pkgs=()
    [ -n "$dot_bin" ] || pkgs+=(graphviz)
    [ -n "$chromium_bin" ] || pkgs+=(chromium)
    [ -n "$go_bin" ] || pkgs+=(golang-go)
    { [ -n "$prometheus_bin" ] && [ -n "$promtool_bin" ]; } || pkgs+=(prometheus)
    [ -n "$wrk_bin" ] || pkgs+=(wrk)
    [ -n "$compose_bin" ] || pkgs+=(docker-compose)
    echo "${pkgs[*]:-}"
}

check
pkgs=$(missing_pkgs)

if [ -n "$pkgs" ] && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] \
        && command -v apt-get >/dev/null 2>&1; then
    echo "check-tools: installing missing Debian packages: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq; then
        # shellcheck disable=SC2086  # word-splitting of $pkgs is intended
        if ! apt-get install -y -qq --no-install-recommends $pkgs; then
            echo "check-tools: apt-get install failed for: $pkgs" >&2
        fi
    else
        echo "check-tools: apt-get update failed" >&2
    fi
    check
    pkgs=$(missing_pkgs)
fi

if [ -n "$go_bin" ] && ! command -v go >/dev/null 2>&1; then
    hints+=("go is in $GO_DIR but not on PATH: export PATH=\"$GO_DIR:\$PATH\"")
fi

version_of() {
    case "$1" in
        go) [ -n "$go_bin" ] && "$go_bin" env GOVERSION 2>/dev/null ;;
        dot) [ -n "$dot_bin" ] && "$dot_bin" -V 2>&1 | sed -n 's/.*version \([^ ]*\).*/dot \1/p' | head -n1 ;;
        chromium) [ -n "$chromium_bin" ] && "$chromium_bin" --version 2>/dev/null | head -n1 ;;
        prometheus) [ -n "$prometheus_bin" ] && "$prometheus_bin" --version 2>&1 | head -n1 | awk '{print "prometheus " $3}' ;;
    esac
}

if [ -z "$pkgs" ]; then
    echo "check-tools: ok: $(version_of go), $(version_of dot), $(version_of chromium || echo chromium), $(version_of prometheus || echo prometheus), wrk"
    for h in "${hints[@]}"; do echo "check-tools: hint: $h"; done
    exit 0
fi

# Something is still missing: say what, and print one install command.
fatal=0
[ -n "$go_bin" ] || { echo "check-tools: MISSING go (Go toolchain)" >&2; fatal=1; }
[ -n "$dot_bin" ] || { echo "check-tools: MISSING dot (Graphviz)" >&2; fatal=1; }
[ -n "$chromium_bin" ] || echo "check-tools: WARNING chromium not found (needed only by browser tests)" >&2
[ -n "$promtool_bin" ] || echo "check-tools: WARNING prometheus/promtool not found (needed by the monitoring tests)" >&2
[ -n "$wrk_bin" ] || echo "check-tools: WARNING wrk not found (needed only by bench/)" >&2
[ -n "$compose_bin" ] || echo "check-tools: WARNING docker-compose not found (only validates wordgame/wordgame_lab/monitoring/docker-compose.yml)" >&2
for h in "${hints[@]}"; do echo "check-tools: hint: $h" >&2; done

if [ "$(uname -s)" = Darwin ]; then
    brew_pkgs=$(echo "$pkgs" | sed 's/golang-go/go/')
    echo "To install: brew install $brew_pkgs" >&2
elif command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo "
    echo "To install: ${sudo}apt-get install -y $pkgs" >&2
elif command -v dnf >/dev/null 2>&1; then
    dnf_pkgs=$(echo "$pkgs" | sed 's/golang-go/golang/')
    echo "To install: sudo dnf install -y $dnf_pkgs" >&2
else
    echo "To install: your package manager's packages for: $pkgs" >&2
fi
exit "$fatal"
