// Package zigbee is the gateway's Zigbee Smart Energy Energy Service
// Interface (ESI): an endpoint of profile 0x0109 on the household's Zigbee
// network (through a hal/zigbee.NCP, the gateway being coordinator and
// trust centre) that serves in-home displays and load-control devices the
// Smart Energy clusters from the gateway's own data:
//
//   - Metering (0x0702) from the store: the electricity meter's registers
//     (OBIS 1.8.0, 2.8.0, the tier registers 1.8.n/2.8.n), demand (1.7.0
//     minus 2.7.0), today's and yesterday's consumption, formatting and
//     status; attribute reporting as each display configures it; GetProfile
//     for 15-minute intervals. Further meters (gas, water) appear as
//     mirror endpoints with a Metering cluster each.
//   - Price (0x0700), Messaging (0x0703) and Demand Response and Load
//     Control (0x0701) from the tariff model (internal/tariff): prices are
//     pushed when they change and answered on request, messages and events
//     are sent to every joined device, confirmations and opt-outs go back
//     into the model.
//   - Time (0x000A) as the network's time master, Basic and Identify.
//
// Service follows New → Run(ctx) → Close. The codec is
// internal/proto/zcl; docs/zigbee-esi.md describes what is served and how
// values are mapped.
package zigbee
