SUMMARY = "Smart meter gateway appliance image"
DESCRIPTION = "systemd, the TPM 2.0 stack, the nftables firewall and smgw."
LICENSE = "MIT"

inherit core-image features_check

# systemd as init (smgw.service is Type=notify with a watchdog); the TPM
# stack of meta-tpm needs the tpm2 distro feature.
REQUIRED_DISTRO_FEATURES = "systemd tpm2"

IMAGE_INSTALL = " \
    packagegroup-core-boot \
    smgw \
    nftables \
    tpm2-tss \
    tpm2-tools \
    kernel-module-tpm-crb \
    kernel-module-tpm-tis \
    kernel-module-usbserial \
    kernel-module-ftdi-sio \
    kernel-module-cp210x \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

# No login over the network; the console and `smgw` are the tools.
IMAGE_FEATURES:remove = "ssh-server-dropbear ssh-server-openssh"
# /var/lib/smgw must survive updates: with RAUC's A/B slots it lives on a
# data partition (README.md, "Storage"), not in the image.
