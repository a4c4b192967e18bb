package ctl

// LinkStatus is the WAN link's part of Status (docs/link.md): the active
// uplink, the LTE modem and the day's traffic against the LTE budget.
type LinkStatus struct {
	Active       string `json:"active"`                 // ethernet, lte or none
	Ethernet     string `json:"ethernet,omitempty"`     // interface names
	LTE          string `json:"lte,omitempty"`          //
	Registration string `json:"registration,omitempty"` // the modem's, e.g. "registered (home)"
	Operator     string `json:"operator,omitempty"`
	SignalDBm    int    `json:"signal_dbm,omitempty"` // 0: unknown or no modem
	ModemError   string `json:"modem_error,omitempty"`
	SentToday    int64  `json:"sent_today"`      // bytes on any uplink, this local day
	SentTodayLTE int64  `json:"sent_today_lte"`  // of those, on LTE
	DailyBudget  int64  `json:"daily_budget"`    // LTE bulk bytes a day, 0 unlimited
	BudgetLeft   int64  `json:"budget_left"`     // -1 when unlimited
	Throttled    int64  `json:"throttled_today"` // bulk sends held back today
}
