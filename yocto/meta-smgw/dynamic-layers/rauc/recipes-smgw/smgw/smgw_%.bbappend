# With RAUC: the health check gates marking a new slot good, and the daemon
# (User=smgw) may call RAUC's D-Bus installer for HES firmware commands.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI += "file://smgw-rauc.conf"

SYSTEMD_SERVICE:${PN} += "smgw-health.service"

do_install:append() {
    install -d ${D}${datadir}/dbus-1/system.d
    install -m 0644 ${UNPACKDIR}/smgw-rauc.conf ${D}${datadir}/dbus-1/system.d/
}

FILES:${PN} += "${datadir}/dbus-1/system.d/smgw-rauc.conf"
RDEPENDS:${PN} += "rauc rauc-mark-good"
