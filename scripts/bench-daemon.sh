#!/usr/bin/env bash
# scripts/bench-daemon.sh — the daemon's figures for BENCHMARKS.md:
#
#  (a) startup: time from exec of `smgw run -c demo.toml` to READY=1 on its
#      NOTIFY_SOCKET (as systemd's Type=notify sees it), median of RUNS
#      restarts on an existing database; the first start, which creates
#      the database and key, is reported apart.
#  (b) footprint: VmRSS and VmHWM (peak) of `smgw run` after HOLD seconds
#      of ingest from METERS simulated meters whose registers and live
#      values are read every second, which in one minute stores more than
#      the demo's three meters do in an hour (the script prints the count).
#
#   scripts/bench-daemon.sh                 # RUNS=5 METERS=10 HOLD=60
#   RUNS=9 METERS=10 HOLD=120 scripts/bench-daemon.sh
#
# Uses scripts/notifywait (a tiny sd_notify listener) and the binary built
# from this checkout (go build, stripped of nothing: the figures are for the
# binary `go build -o smgw ./cmd/smgw` makes). Prints each figure with the
# command that produced it; paste them into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
METERS=${METERS:-10}
HOLD=${HOLD:-60}

work=$(mktemp -d "${TMPDIR:-/tmp}/smgw-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/smgw" ./cmd/smgw
go build -o "$work/notifywait" ./scripts/notifywait

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "bench-daemon: no free port found" >&2
	return 1
}

# config DATA_DIR METERS_TOML prints a configuration: the demo's settings
# (dev key, status page on loopback) in DATA_DIR, with the given meters.
config() {
	cat <<EOF
[gateway]
id = "smgw-bench"
data_dir = "$1"
runtime_dir = "$1/run"
log_level = "warn"
log_format = "text"

[security]
key_provider = "dev"
allow_insecure = true

[status]
listen = "127.0.0.1:$(free_port)"

$2
EOF
}

# The demo's meters (config.Demo): elec-1 with live values every second,
# water-1 and heat-1, registers every 15 minutes.
demo_meters='[[meter]]
id = "elec-1"
driver = "sim"
profile = "electricity"
interval = "15m"
live_interval = "1s"

[[meter]]
id = "water-1"
driver = "sim"
profile = "water"
interval = "15m"

[[meter]]
id = "heat-1"
driver = "sim"
profile = "heat"
interval = "15m"'

# METERS fast meters, cycling through the three sim profiles.
fast_meters() {
	local profiles=(electricity water heat) i p
	for ((i = 0; i < METERS; i++)); do
		p=${profiles[i % 3]}
		printf '[[meter]]\nid = "%s-%d"\ndriver = "sim"\nprofile = "%s"\ninterval = "1s"\n' "$p" "$i" "$p"
		[[ $p == electricity ]] && printf 'live_interval = "1s"\n'
		printf '\n'
	done
}

# field KEY FILE prints the value of a key=value line of notifywait's output.
field() { sed -n "s/^$1=//p" "$2"; }

echo "# smgw daemon figures: $(date -u +%Y-%m-%dT%H:%MZ), $(go version | cut -d' ' -f3-), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"

# (a) startup.
mkdir -p "$work/a"
config "$work/a/data" "$demo_meters" >"$work/a/smgw.toml"
"$work/smgw" config check "$work/a/smgw.toml" >/dev/null
cmd_a=(notifywait -- smgw run -c demo.toml)
"$work/notifywait" -- "$work/smgw" run -c "$work/a/smgw.toml" >"$work/a/first" 2>"$work/a/log" || {
	cat "$work/a/log" >&2
	exit 1
}
first=$(field ready_ms "$work/a/first")
times=()
for ((i = 1; i <= RUNS; i++)); do
	"$work/notifywait" -- "$work/smgw" run -c "$work/a/smgw.toml" >"$work/a/run$i" 2>>"$work/a/log" || {
		cat "$work/a/log" >&2
		exit 1
	}
	times+=("$(field ready_ms "$work/a/run$i")")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')
echo
echo "startup, exec to READY=1, demo configuration (3 sim meters, dev key):"
echo "  median of $RUNS restarts: ${median} ms   (each: ${times[*]} ms)"
echo "  first start, new database and key: ${first} ms"
echo "  command: scripts/bench-daemon.sh (${cmd_a[*]}, RUNS=$RUNS)"

# (b) footprint after ingest.
mkdir -p "$work/b"
config "$work/b/data" "$(fast_meters)" >"$work/b/smgw.toml"
"$work/smgw" config check "$work/b/smgw.toml" >/dev/null
"$work/notifywait" -hold "${HOLD}s" -- "$work/smgw" run -c "$work/b/smgw.toml" >"$work/b/out" 2>"$work/b/log" || {
	cat "$work/b/log" >&2
	exit 1
}
rss=$(field vmrss_kib "$work/b/out")
hwm=$(field vmhwm_kib "$work/b/out")
readings=$("$work/smgw" readings --data "$work/b/data" --format json | wc -l)
dbsize=$(du -sk "$work/b/data" | cut -f1)
echo
echo "footprint, $METERS sim meters read every 1s (electricity also live every 1s), after ${HOLD}s:"
echo "  VmRSS $((rss / 1024)).$(((rss % 1024) * 10 / 1024)) MiB, VmHWM $((hwm / 1024)).$(((hwm % 1024) * 10 / 1024)) MiB (${rss} / ${hwm} KiB)"
echo "  $readings readings stored, data directory ${dbsize} KiB"
echo "  command: METERS=$METERS HOLD=$HOLD scripts/bench-daemon.sh (notifywait -hold ${HOLD}s -- smgw run -c fast.toml)"
