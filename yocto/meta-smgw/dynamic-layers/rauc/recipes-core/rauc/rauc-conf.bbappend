# smgw's RAUC system configuration: A/B root filesystem slots.
# Replace ca.cert.pem with the CA that signs your bundles (RAUC_KEYRING_FILE).
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
