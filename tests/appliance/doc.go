// Package appliance holds the appliance's boot test and the static checks
// of the files the image installs (rootfs/).
//
// TestBoot builds a minimal Debian 12 root filesystem with debootstrap
// (cached between runs under ${XDG_CACHE_HOME:-~/.cache}/smgw-appliance,
// keyed by a hash of the package list), adds the real smgw binary and
// rootfs/, makes an ext4 image with mkfs.ext4 -d, and boots it with
// qemu-system-x86_64 under TCG, with swtpm behind a tpm-crb device and an
// emulated USB-serial adapter whose host side is a meter simulator. An
// in-guest unit runs the checks and writes one line per check to the
// serial console; the test reads the console log, asserts, and stops QEMU
// by its PID. It needs root, debootstrap, qemu-system-x86_64, swtpm and
// mkfs.ext4, and skips with a message naming what is missing otherwise.
//
// The static tests run systemd-analyze verify and systemd-analyze security
// on the units and nft -c on the firewall ruleset, skipping when the tool
// is not installed.
package appliance
