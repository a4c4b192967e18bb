// Package wan holds the gateway's services that face the utility's head-end
// system over the WAN (Ethernet or LTE): the DLMS/COSEM server the HES pulls
// readings and load profiles from, the MQTT uplink that pushes readings
// from the store's outbox and receives commands, and the link state both
// depend on. It reads only from internal/store, never from a meter driver,
// and hands received commands to the one command path in internal/app.
package wan
