package modem

import "testing"

func TestSplitCSV(t *testing.T) {
	got := splitCSV(`0,0,"Telekom.de, Test",7`)
	if len(got) != 4 || got[2] != "Telekom.de, Test" || got[3] != "7" {
		t.Errorf("splitCSV = %q", got)
	}
	if r, ok := ParseRegURC("+CEREG: 5,\"1A2B\",\"01A2B3C4\",7"); !ok || r != RegRoaming {
		t.Errorf("ParseRegURC = %v %v", r, ok)
	}
	if _, ok := ParseRegURC("+CEREG: x"); ok {
		t.Error("ParseRegURC accepted x")
	}
	if r, err := parseReg([]string{"+CREG: 2,1,\"00C3\",\"0000A1B2\""}, "+CREG:"); err != nil || r != RegHome {
		t.Errorf("parseReg = %v %v", r, err)
	}
	if got := answerPrefix("AT+CGDCONT=1,\"IP\",\"x\""); got != "+CGDCONT:" {
		t.Errorf("answerPrefix = %q", got)
	}
}

// FuzzParseAnswer: the answer parsers never panic.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{"+CEREG: 1,5", "+CSQ: 20,99", `+COPS: 0,0,"Telekom.de",7`, "+CME ERROR: 10", `"`, ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		splitCSV(s)
		ParseRegURC(s)
		parseReg([]string{s}, "+CEREG:")
		finalLine(s)
		isURC(s)
		if len(s) >= 2 {
			answerPrefix("AT" + s)
		}
	})
}
