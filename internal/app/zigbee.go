package app

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	hal "github.com/smgw/smgw/hal/zigbee"
	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	hz "github.com/smgw/smgw/internal/han/zigbee"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/version"
)

// The Zigbee Smart Energy ESI ([zigbee], docs/zigbee-esi.md): the
// co-processor driver (hal/zigbee) and the ESI (internal/han/zigbee) over
// the store and the tariff model. The network key is made at the first
// start and kept as the sealed secret record "zigbee/network-key"; PAN ids
// left 0 in the file are picked then and kept in the record
// zigbee/network.

// zigbeeState is the app's part for the ESI.
type zigbeeState struct {
	ncp hal.NCP
	svc *hz.Service
}

const (
	zigbeeKeyRecord     = "zigbee/network-key"
	zigbeeNetworkRecord = "network"
)

// zigbeeNetwork is the kept network identity.
type zigbeeNetwork struct {
	PANID         uint16 `json:"pan_id"`
	ExtendedPANID uint64 `json:"extended_pan_id"`
}

// initZigbee opens the co-processor and creates the ESI when [zigbee] is
// enabled. Call after the store and the tariff model exist.
func (a *App) initZigbee(ctx context.Context) error {
	zc := a.cfg.Zigbee
	if !zc.Enabled {
		return nil
	}
	netCfg, err := a.zigbeeNetworkConfig(ctx, zc)
	if err != nil {
		return err
	}
	meters := []hz.Meter{{ID: meter.MeterID(zc.Electricity), Kind: hz.KindElectricity}}
	if zc.Gas != "" {
		meters = append(meters, hz.Meter{ID: meter.MeterID(zc.Gas), Kind: hz.KindGas})
	}
	if zc.Water != "" {
		meters = append(meters, hz.Meter{ID: meter.MeterID(zc.Water), Kind: hz.KindWater})
	}
	log := a.log.With("service", "zigbee")
	z, err := hal.OpenZNP(zc.Port, &hal.ZNPOptions{Logger: log})
	if err != nil {
		return fmt.Errorf("%w: zigbee.port: %w", ErrRefused, err)
	}
	o := &hz.Options{NCP: z, Network: netCfg, Meters: meters, Tariff: a.tariff, Now: a.now, Log: log,
		ProviderID: uint32(zc.ProviderID), Version: version.Version}
	if a.clock != nil {
		o.Synced = a.clock.Trusted
	}
	svc, err := hz.New(a.st, o)
	if err != nil {
		z.Close()
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	a.zigbee = zigbeeState{ncp: z, svc: svc}
	return nil
}

// zigbeeNetworkConfig returns the network to form: channel and PAN ids
// from the file (or kept from the first start), the sealed network key.
func (a *App) zigbeeNetworkConfig(ctx context.Context, zc config.Zigbee) (hal.NetworkConfig, error) {
	nc := hal.NetworkConfig{Channel: uint8(zc.Channel), PANID: uint16(zc.PANID)}
	if nc.Channel == 0 {
		nc.Channel = 15
	}
	if zc.ExtendedPANID != "" {
		nc.ExtendedPANID, _ = config.ParseEUI64Hex(zc.ExtendedPANID) // validated with the file
	}
	key, err := a.st.Record(store.KindSecret, zigbeeKeyRecord)
	switch {
	case errors.Is(err, store.ErrNotFound):
		key = make([]byte, 16)
		rand.Read(key)
		if err := a.st.PutRecord(ctx, store.KindSecret, zigbeeKeyRecord, key); err != nil {
			return nc, fmt.Errorf("zigbee: keeping the new network key: %w", err)
		}
		a.log.Info("zigbee: a new network key was made and sealed in the store")
	case err != nil:
		return nc, fmt.Errorf("zigbee: the network key: %w", err)
	case len(key) != 16:
		return nc, fmt.Errorf("zigbee: the stored network key is %d bytes, want 16", len(key))
	}
	copy(nc.NetworkKey[:], key)
	var kept zigbeeNetwork
	if b, err := a.st.Record(hz.RecordKind, zigbeeNetworkRecord); err == nil {
		if err := json.Unmarshal(b, &kept); err != nil {
			return nc, fmt.Errorf("zigbee: the kept network ids: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nc, fmt.Errorf("zigbee: the kept network ids: %w", err)
	}
	changed := false
	if nc.PANID == 0 {
		if kept.PANID == 0 {
			var b [2]byte
			rand.Read(b[:])
			kept.PANID, changed = 1+binary.LittleEndian.Uint16(b[:])%0xFFF6, true
		}
		nc.PANID = kept.PANID
	}
	if nc.ExtendedPANID == 0 {
		if kept.ExtendedPANID == 0 {
			var b [8]byte
			rand.Read(b[:])
			kept.ExtendedPANID, changed = binary.LittleEndian.Uint64(b[:])|1, true
			if kept.ExtendedPANID == ^uint64(0) {
				kept.ExtendedPANID--
			}
		}
		nc.ExtendedPANID = kept.ExtendedPANID
	}
	if changed {
		b, _ := json.Marshal(kept)
		if err := a.st.PutRecord(ctx, hz.RecordKind, zigbeeNetworkRecord, b); err != nil {
			return nc, fmt.Errorf("zigbee: keeping the network ids: %w", err)
		}
	}
	return nc, nil
}

// runZigbee runs the ESI, if there is one, until ctx ends.
func (a *App) runZigbee(ctx context.Context) error {
	if a.zigbee.svc == nil {
		<-ctx.Done()
		return nil
	}
	return a.zigbee.svc.Run(ctx)
}

// closeZigbee releases the ESI and the co-processor's port.
func (a *App) closeZigbee() error {
	var errs []error
	if a.zigbee.svc != nil {
		errs = append(errs, a.zigbee.svc.Close())
	}
	if a.zigbee.ncp != nil {
		errs = append(errs, a.zigbee.ncp.Close())
	}
	return errors.Join(errs...)
}

func (a *App) zigbeeService() (*hz.Service, error) {
	if a.zigbee.svc == nil {
		return nil, fmt.Errorf("%w: the Zigbee ESI is off ([zigbee] enabled = false)", ctl.ErrNotFound)
	}
	return a.zigbee.svc, nil
}

// ZigbeePermit implements ctl.ZigbeeBackend.
func (a *App) ZigbeePermit(ctx context.Context, eui64, installCode string, d time.Duration) error {
	svc, err := a.zigbeeService()
	if err != nil {
		return err
	}
	eui, err := hal.ParseEUI64(eui64)
	if err != nil {
		return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	code, err := hal.ParseInstallCode(installCode)
	if err != nil {
		return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	if d > hal.MaxPermitJoin {
		d = hal.MaxPermitJoin
	}
	if err := svc.Permit(ctx, eui, code, d); err != nil {
		if errors.Is(err, hal.ErrConfig) || errors.Is(err, hal.ErrInstallCode) {
			return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
		}
		return err
	}
	return nil
}

// ZigbeeDevices implements ctl.ZigbeeBackend.
func (a *App) ZigbeeDevices(ctx context.Context) (ctl.ZigbeeNetwork, error) {
	svc, err := a.zigbeeService()
	if err != nil {
		return ctl.ZigbeeNetwork{}, err
	}
	in := svc.Info()
	n := ctl.ZigbeeNetwork{Driver: in.Driver, Firmware: in.Firmware, State: in.State, Channel: int(in.Channel)}
	if in.IEEE != 0 {
		n.IEEE = fmt.Sprintf("%016X", in.IEEE)
	}
	if in.PANID != 0 {
		n.PANID = fmt.Sprintf("0x%04X", in.PANID)
	}
	if in.ExtendedPANID != 0 {
		n.ExtendedPANID = fmt.Sprintf("%016X", in.ExtendedPANID)
	}
	for _, d := range svc.Devices() {
		n.Devices = append(n.Devices, ctl.ZigbeeDevice{EUI64: d.EUI(), NWK: fmt.Sprintf("0x%04X", d.NWK), Joined: d.Joined,
			LastSeen: d.LastSeen, LQI: int(d.LQI), Endpoint: int(d.Endpoint)})
	}
	return n, nil
}

// ZigbeeRemove implements ctl.ZigbeeBackend.
func (a *App) ZigbeeRemove(ctx context.Context, eui64 string) error {
	svc, err := a.zigbeeService()
	if err != nil {
		return err
	}
	eui, err := hal.ParseEUI64(eui64)
	if err != nil {
		return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	if err := svc.Remove(ctx, eui); err != nil {
		if errors.Is(err, hz.ErrUnknownDevice) {
			return fmt.Errorf("%w: %w", ctl.ErrNotFound, err)
		}
		return err
	}
	return nil
}
