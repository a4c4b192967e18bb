package dlmssim

import (
	"time"

	"github.com/smgw/smgw/internal/meter"
)

// QuarterSeconds is the load profile's capture period.
const QuarterSeconds = 900

// series is energy that grows by a + b·(i mod n) Wh in quarter i (since
// the Unix epoch).
type series struct{ a, b, n int64 }

var (
	seriesImport         = series{100, 10, 10} // 1.8.0, Wh
	seriesExport         = series{0, 5, 4}     // 2.8.0, Wh
	seriesReactiveImport = series{20, 1, 3}    // 3.8.0, varh
	seriesReactiveExport = series{7, 0, 1}     // 4.8.0, varh
)

func (s series) quarter(i int64) int64 { return s.a + s.b*(i%s.n) }

// upTo is the energy of quarters 0 … q-1.
func (s series) upTo(q int64) int64 {
	r := q % s.n
	return s.a*q + s.b*((q/s.n)*s.n*(s.n-1)/2+r*(r-1)/2)
}

// at is the energy at t: whole quarters plus the running one pro rata
// (rounded down).
func (s series) at(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	q := u / QuarterSeconds
	return s.upTo(q) + s.quarter(q)*(u%QuarterSeconds)/QuarterSeconds
}

// ImportWh is the active energy import register (1.0.1.8.0.255) at t.
func ImportWh(t time.Time) int64 { return seriesImport.at(t) }

// ExportWh is the active energy export register (1.0.2.8.0.255) at t.
func ExportWh(t time.Time) int64 { return seriesExport.at(t) }

// ReactiveImportVarh is 1.0.3.8.0.255 at t.
func ReactiveImportVarh(t time.Time) int64 { return seriesReactiveImport.at(t) }

// ReactiveExportVarh is 1.0.4.8.0.255 at t.
func ReactiveExportVarh(t time.Time) int64 { return seriesReactiveExport.at(t) }

// TariffWh returns the import registers of tariff 1 (1.0.1.8.1.255, even
// quarters) and tariff 2 (1.0.1.8.2.255, odd quarters) at t.
func TariffWh(t time.Time) (t1, t2 int64) {
	u := t.Unix()
	if u < 0 {
		return 0, 0
	}
	q := u / QuarterSeconds
	s := seriesImport
	// Odd quarters below q: a each, plus b·(i mod 10) summed over odd i.
	r := q % s.n
	k := r / 2
	t2 = s.a*(q/2) + s.b*(25*(q/s.n)+k*k)
	t1 = s.upTo(q) - t2
	part := s.quarter(q) * (u % QuarterSeconds) / QuarterSeconds
	if q%2 == 1 {
		t2 += part
	} else {
		t1 += part
	}
	return t1, t2
}

// PowerW is the instantaneous active power (1.0.16.7.0.255) at t: the
// running quarter's mean.
func PowerW(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return seriesImport.quarter(u/QuarterSeconds) * 4
}

// VoltageDV is the L1 voltage (1.0.32.7.0.255) in 0.1 V at t.
func VoltageDV(t time.Time) int64 { return 2300 + t.Unix()%7 }

// CurrentCA is the L1 current (1.0.31.7.0.255) in 0.01 A at t.
func CurrentCA(t time.Time) int64 { return PowerW(t) * 100 / 230 }

// OBIS codes the simulator serves.
var (
	OBISImport         = meter.MustOBIS("1.0.1.8.0.255")
	OBISExport         = meter.MustOBIS("1.0.2.8.0.255")
	OBISReactiveImport = meter.MustOBIS("1.0.3.8.0.255")
	OBISReactiveExport = meter.MustOBIS("1.0.4.8.0.255")
	OBISImportT1       = meter.MustOBIS("1.0.1.8.1.255")
	OBISImportT2       = meter.MustOBIS("1.0.1.8.2.255")
	OBISPower          = meter.MustOBIS("1.0.16.7.0.255")
	OBISVoltageL1      = meter.MustOBIS("1.0.32.7.0.255")
	OBISCurrentL1      = meter.MustOBIS("1.0.31.7.0.255")
	OBISProfile1       = meter.MustOBIS("1.0.99.1.0.255")
	OBISProfile2       = meter.MustOBIS("1.0.99.2.0.255")
	OBISClock          = meter.MustOBIS("0.0.1.0.0.255")
	OBISAssociation    = meter.MustOBIS("0.0.40.0.0.255")
	OBISDisconnect     = meter.MustOBIS("0.0.96.3.10.255")
)
