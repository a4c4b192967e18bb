#!/usr/bin/env bash
# scripts/staticcheck.sh — run the pinned staticcheck, installing it first
# (with `go install`, into $(go env GOPATH)/bin) when the one on PATH is
# missing or another version.
#
#   scripts/staticcheck.sh [ARGS...]   # run it; ARGS default to ./...
#   scripts/staticcheck.sh --install   # only make sure the pinned version is installed
#   scripts/staticcheck.sh --check     # exit 1 if it is not installed
#
# The version is pinned so that CI and every developer get the same
# findings; 0.8.2 (staticcheck 2026.2.2) builds with and understands Go 1.26.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.8.2
MODULE=honnef.co/go/tools/cmd/staticcheck

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

have() {
	command -v staticcheck >/dev/null 2>&1 &&
		[[ "$(staticcheck -version 2>/dev/null)" == *"($VERSION)"* ]]
}

case ${1:-} in
--check)
	have || {
		echo "staticcheck.sh: staticcheck $VERSION is not installed" >&2
		exit 1
	}
	exit 0
	;;
--install)
	have || {
		echo "staticcheck.sh: installing staticcheck $VERSION" >&2
		go install "$MODULE@v$VERSION"
	}
	exit 0
	;;
esac

have || {
	echo "staticcheck.sh: installing staticcheck $VERSION" >&2
	go install "$MODULE@v$VERSION"
}
(($# > 0)) || set -- ./...
exec staticcheck "$@"
