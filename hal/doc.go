// Package hal is the gateway's hardware abstraction layer: the small
// interfaces behind which every device sits (a serial port is an
// io.ReadWriter with deadlines, a radio receiver yields raw frames, a TPM is
// a transport), with one subpackage per kind of device (serial for RS-485,
// wmbus receivers, tpm, the Zigbee network co-processor, the modem, the
// hardware watchdog) and fakes that record and replay real traffic beside
// each interface. Packages under hal import nothing of internal/; drivers in
// internal/lmn use them, and only internal/app opens and closes them.
package hal
