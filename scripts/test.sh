#!/usr/bin/env bash
# scripts/test.sh — smgw's one test command: what CI runs (.ci/run) and what
# a developer runs before sending a change.
#
#   scripts/test.sh            # everything, in order, stopping at the first failure
#   scripts/test.sh --quick    # skip the race detector, benchmarks and fuzzing
#   scripts/test.sh --no-deps  # do not check or install dependencies first
#
# Steps: install what is missing (scripts/install-deps.sh), gofmt, go vet,
# staticcheck, ARM builds (GOARCH=arm64, and arm GOARM=7 with vet), go test -race,
# every benchmark once (-benchtime=1x), and a short run of every fuzz
# target (FUZZTIME each, default 50000 executions). It ends with the go
# test result of every package and one summary line.
#
# Environment: FUZZTIME (e.g. 2000000x) to fuzz longer; FUZZTIME_LONG
# (default 60s) for the wM-Bus and M-Bus codecs' targets; TEST_TIMEOUT for
# go test's -timeout (default 20m); GOFLAGS as usual.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
deps=1
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	--no-deps) deps=0 ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

# A count, not a duration: with a duration, Go 1.26's fuzzing coordinator
# can report "context deadline exceeded" as a failure when the time runs out
# while a worker is mid-run on a loaded machine (golang/go#75804, fixed in
# Go 1.27). A count has no deadline to race.
FUZZTIME=${FUZZTIME:-50000x}
# The radio-facing codecs (wM-Bus and M-Bus: anyone within range can send
# them bytes) fuzz for a duration, FUZZTIME_LONG each; a run that ends with
# only the deadline error above and no failing input counts as clean.
FUZZTIME_LONG=${FUZZTIME_LONG:-60s}
# Matched against "DIR NAME": every wM-Bus codec target and the M-Bus
# application layer's (the wired link layer's targets take FUZZTIME).
LONG_FUZZ='^\./internal/proto/wmbus |^\./internal/proto/mbus (FuzzAppendRecords|FuzzParseFrame)$'
TEST_TIMEOUT=${TEST_TIMEOUT:-20m}

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/smgw-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

start=$SECONDS
passed=()
current=""

# step NAME CMD... runs one step, timing it; the first failure ends the run.
step() {
	local name=$1 t0=$SECONDS
	shift
	current=$name
	echo
	echo "==> $name: $*"
	"$@"
	passed+=("$name")
	echo "--- $name ok ($((SECONDS - t0))s)"
}

on_exit_fail() {
	local rc=$?
	if ((rc != 0)) && [[ -n $current ]]; then
		echo
		echo "test.sh: FAILED at step '$current' after $((SECONDS - start))s (passed: ${passed[*]:-none})"
	fi
	rm -rf "$work"
	exit $rc
}
trap on_exit_fail EXIT

go_files() {
	# What the go tool builds: no testdata, vendor, hidden or _ directories.
	find . \( -name testdata -o -name vendor -o -name '.?*' -o -name '_*' \) -prune \
		-o -type f -name '*.go' -print
}

check_gofmt() {
	local out
	if ! out=$(go_files | xargs -r gofmt -l); then
		echo "gofmt could not parse the files named above"
		return 1
	fi
	if [[ -n $out ]]; then
		echo "these files are not gofmt'ed (run gofmt -w on them):"
		echo "$out"
		return 1
	fi
}

build_arm() {
	GOARCH=arm64 go build ./...
	GOARCH=arm GOARM=7 go build ./...
	# vet as well: it compiles the tests for 32 bits (int overflow in
	# constants, 64-bit atomics alignment) that build does not.
	GOARCH=arm GOARM=7 go vet ./...
}

go_test() {
	# -race needs cgo (gcc, from install-deps.sh).
	CGO_ENABLED=1 go test -race -count=1 -timeout="$TEST_TIMEOUT" ./... 2>&1 | tee "$work/test.log"
}

go_bench() {
	go test -run='^$' -bench=. -benchtime=1x -count=1 -timeout="$TEST_TIMEOUT" ./...
}

fuzz_targets() {
	# "dir name" per fuzz target, sorted.
	grep -r --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor --exclude-dir='.?*' \
		-H '^func Fuzz[A-Za-z0-9_]*(' . |
		sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u || true
}

# fuzz_for_duration DIR NAME fuzzes for FUZZTIME_LONG, forgiving only Go
# 1.26's end-of-run deadline error (golang/go#75804): a real finding always
# writes its failing input to testdata/fuzz, and that is never forgiven.
fuzz_for_duration() {
	local dir=$1 name=$2 out rc=0
	out=$(go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME_LONG" "$dir/" 2>&1) || rc=$?
	echo "$out" | tail -n 5
	if ((rc != 0)); then
		if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "(only golang/go#75804's deadline error at the end of the run: counted as clean)"
			return 0
		fi
		echo "$out"
		return "$rc"
	fi
}

go_fuzz() {
	local targets n=0 dir name
	targets=$(fuzz_targets)
	if [[ -z $targets ]]; then
		echo "no fuzz targets"
		return 0
	fi
	while read -r dir name; do
		n=$((n + 1))
		# One target per invocation: go test -fuzz refuses a pattern that
		# matches more than one target in a package.
		if [[ "$dir $name" =~ $LONG_FUZZ ]]; then
			echo "fuzz $dir $name ($FUZZTIME_LONG)"
			fuzz_for_duration "$dir" "$name"
		else
			echo "fuzz $dir $name ($FUZZTIME)"
			go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$dir/"
		fi
	done <<<"$targets"
	echo "$n fuzz targets ran"
}

if ((deps)); then
	step deps scripts/install-deps.sh
fi
echo
go version
step gofmt check_gofmt
step vet go vet ./...
step staticcheck scripts/staticcheck.sh ./...
step build-arm build_arm
if ((quick)); then
	current=test
	echo
	echo "==> test (quick: no race detector): go test -count=1 ./..."
	go test -count=1 -timeout="$TEST_TIMEOUT" ./... 2>&1 | tee "$work/test.log"
	passed+=(test)
else
	step test-race go_test
	step bench go_bench
	step fuzz go_fuzz
fi
current=""

# Close with go test's own result lines of the main test run, so the last
# thing a reader (or CI) sees is the verdict of every package.
echo
echo "==> results of go test ./..."
grep -E '^(ok|FAIL|---|\?) ' "$work/test.log" | grep -v '\[no test files\]' || true
npkg=$(grep -cE '^ok ' "$work/test.log" || true)
echo
echo "test.sh: all steps passed in $((SECONDS - start))s: ${passed[*]} ($npkg packages tested)"
