#!/usr/bin/env bash
# scripts/install-deps.sh — install what smgw's tests need on a Debian 12
# machine, and nothing that is already there.
#
#   scripts/install-deps.sh          # Debian packages and Go tools
#   scripts/install-deps.sh --check  # only report what is missing (exit 1 if anything is)
#
# Idempotent: a second run installs nothing and does not touch apt's lists.
# It runs `apt-get update` at most once, and only when it must install.
# Needs root (or sudo) only when a Debian package is missing.
#
# Extend the lists below when a test needs a new peer (DESIGN, "Peers used
# in tests"); say in a comment which test needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use.
APT_PACKAGES=(
	gcc libc6-dev   # cgo, which `go test -race` needs
	ca-certificates # TLS to the module proxy; test CAs for the MQTT broker
	socat           # pseudo-terminal pairs standing in for RS-485 lines; NOTIFY_SOCKET listener
	swtpm swtpm-tools                # the TPM 2.0 the security module's integration tests talk to
	libssl-dev                       # go-tpm-tools' in-process TPM simulator (cgo) in unit tests
	mosquitto mosquitto-clients      # the MQTT broker the uplink tests publish to
	libxml2-utils                    # xmllint: the IEEE 2030.5 XML is validated against sep.xsd
	python3-pymodbus                 # the third-party Modbus RTU server on a pty
	# tests/appliance: the boot test builds a Debian 12 root filesystem (debootstrap),
	# an ext4 image of it (mkfs.ext4 -d) and boots it in qemu (TCG); the static
	# tests run systemd-analyze verify/security and nft -c on rootfs/.
	qemu-system-x86 debootstrap e2fsprogs systemd nftables
	chromium                         # the HAN page tested in a real headless browser (chromedp)
)

# Commands the tests need that a machine may have from elsewhere than
# Debian (NodeSource's nodejs carries npm; Debian splits them): the Debian
# package is installed only when the command is missing. node and npm run
# zigbee-herdsman, the third party the ZCL codec is checked against.
CMD_PACKAGES=(node:nodejs npm:npm)

check_only=0
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

log() { echo "install-deps: $*" >&2; }

# Go itself cannot come from Debian 12 (its golang is far older than go.mod
# asks for); it must be on PATH already.
if ! command -v go >/dev/null 2>&1; then
	log "go is not on PATH; install the Go toolchain named in go.mod ($(sed -n 's/^go //p' go.mod)) first"
	exit 1
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${APT_PACKAGES[@]}"; do
		if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]]; then
			missing+=("$p")
		fi
	done
else
	log "not a Debian system (no dpkg-query); make sure these are installed: ${APT_PACKAGES[*]}"
fi
for cp in "${CMD_PACKAGES[@]}"; do
	if ! command -v "${cp%%:*}" >/dev/null 2>&1; then
		missing+=("${cp#*:}")
	fi
done

if ((${#missing[@]} > 0)); then
	if ((check_only)); then
		log "missing Debian packages: ${missing[*]}"
	else
		sudo=()
		if ((EUID != 0)); then
			if command -v sudo >/dev/null 2>&1; then
				sudo=(sudo)
			else
				log "missing Debian packages ${missing[*]} and not root (no sudo): install them and run again"
				exit 1
			fi
		fi
		log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		"${sudo[@]}" apt-get update -qq </dev/null
		"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
		missing=()
	fi
fi

# Go tools, pinned; scripts/staticcheck.sh knows the staticcheck version.
if ((check_only)); then
	scripts/staticcheck.sh --check || missing+=(staticcheck)
	((${#missing[@]} == 0))
	exit
fi
scripts/staticcheck.sh --install
