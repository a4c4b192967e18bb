#!/usr/bin/env bash
# scripts/yocto-gomod.sh — regenerate the Yocto recipe's offline Go module
# list (yocto/meta-smgw/recipes-smgw/smgw/smgw-go-mods.inc) from go.sum.
#
#   scripts/yocto-gomod.sh          # rewrite it (after any change to go.mod/go.sum)
#   scripts/yocto-gomod.sh -check   # exit 1 if it is out of date
#
# The work is done by scripts/yocto-gomod (a Go program); the test there
# (go test ./scripts/yocto-gomod) fails when the .inc and go.sum differ.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/yocto-gomod "$@"
