// Package hass publishes the household's readings to a local MQTT broker
// on the HAN with Home Assistant's MQTT discovery, so a Home Assistant
// instance finds the meters as sensors with the device classes, state
// classes and units its Energy dashboard takes (energy registers in kWh
// as total_increasing, gas and water in m³, power in W as measurement).
//
// Discovery configurations are retained under
// <discovery prefix>/sensor/<node>/<object>/config; states go to
// <base>/<node>/<meter>/<obis>/state (retained, a plain decimal number);
// the availability topic <base>/<node>/availability carries "online"
// and, as the connection's last will, "offline". States come from the
// store's live subscription and, after each (re)connection, from the
// latest stored reading of every quantity. docs/home-assistant.md
// describes the setup.
package hass
