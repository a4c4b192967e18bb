SUMMARY = "RAUC update bundle of the smart meter gateway image"
LICENSE = "MIT"

inherit bundle

RAUC_BUNDLE_COMPATIBLE = "smgw"
RAUC_BUNDLE_VERSION = "${SMGW_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "smgw appliance ${SMGW_VERSION}"
RAUC_BUNDLE_FORMAT = "verity"

RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "smgw-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# The bundle's CMS signature (checked by RAUC against /etc/rauc/ca.cert.pem).
# Set these in local.conf or site.conf; never commit a release key.
RAUC_KEY_FILE ?= "${TOPDIR}/keys/rauc/development-1.key.pem"
RAUC_CERT_FILE ?= "${TOPDIR}/keys/rauc/development-1.cert.pem"

# The gateway installs an smgw update file: this bundle wrapped in a
# manifest signed with the utility's ECDSA key (docs/updates.md):
#   smgw update pack --key update-signing.pem --version ${SMGW_VERSION} \
#       --compatible smgw -o smgw-${SMGW_VERSION}.smgwu smgw-bundle-${MACHINE}.raucb
