// Package sim simulates household meters for `smgw demo` and for tests:
// an electricity meter with a small balcony PV system, a water meter and a
// heat meter, producing plausible register and live readings with no
// hardware.
//
// # Determinism
//
// Every value depends only on the meter's seed, its time zone and the
// time: a cumulative register at time t is a seed-derived start value at
// 2020-01-01T00:00Z plus the integral of the simulated load from then to
// t. Register readings produced by Run and by Backfill for the same instant
// are therefore identical, and so is a meter re-created after a restart.
// The models use integer arithmetic only (no floats, no math library), so
// the figures are the same on every architecture.
//
// The integral is exact. Time is cut into 15-minute slots aligned to UTC
// (and so to local wall-clock quarter hours in every real time zone); the
// load of a slot is a closed form of the slot's time, its noise is built
// to sum to zero over the slot, and so a slot's energy is known without
// integrating it minute by minute. Within a slot the power is resolved to
// the minute (electricity: minute noise and appliance events such as a
// kettle) and, for the live values, to the second; the registers advance by
// exactly the sum of the 1-second powers. Totals per UTC day are cached per
// meter, so the first reading of a meter costs one pass over the slots
// since 2020 (10–20 ms on a PC in 2026, see BenchmarkFirstReading) and
// later ones are O(1) amortised (a day of 15-minute registers: well under
// a millisecond, see BenchmarkBackfillDay).
//
// # Profiles
//
// Electricity: a household of about 3,000–4,000 kWh a year — night base
// about 150 W, morning and evening peaks, cooking, appliances and kettle
// spikes of 2 kW, winter above summer — with an 800 Wp balcony PV system
// that exports only around midday on sunny days. Import registers are
// split into tariff T1 (06:00–22:00 local time) and T2 (the rest), and
// 1-0:1.8.0 is their sum.
//
// Water: a household of about 2.5 people using about 120 l per person per
// day, in events (showers, toilet flushes, taps, washing machine,
// dishwasher) concentrated in the morning and the evening.
//
// Heat: a heat meter of a single-family house on district heating: space
// heating driven by a seasonal and diurnal outdoor temperature (none above
// 15 °C), night set-back, and hot-water charging in the morning and the
// evening. Energy has the resolution of a typical residential heat meter's
// display, 1 kWh (exponent 3 on Wh); volume 10 l.
//
// The weather (outdoor temperature, clouds) does not depend on the seed:
// meters in the same time zone share it, so the PV of all electricity
// meters and the heating of all heat meters of a demo agree.
//
// # Lifecycle
//
// New validates and starts nothing; Run produces readings on the
// interval's wall-clock boundaries until its context ends and returns nil;
// Backfill produces the registers of past boundaries. A Meter holds no
// resources and needs no Close.
package sim
