package wmbus_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDebugRow prints the decode of the corpus rows listed in
// WMBUS_ROWS (1-based, comma separated); a development aid.
func TestDebugRow(t *testing.T) {
	env := os.Getenv("WMBUS_ROWS")
	if env == "" {
		t.Skip("WMBUS_ROWS not set")
	}
	rows := loadCorpus(t)
	d := corpusDecoder(t)
	for _, s := range strings.Split(env, ",") {
		n, _ := strconv.Atoi(s)
		row := rows[n-1]
		tg, err := decodeRow(d, row, t)
		fmt.Printf("row %d %s %s\n%s\nerr=%v profile=%s ci=%X tplci=%X mode=%d\n%s", n, row.Driver, row.PayloadState, row.Telegram, err, tg.Profile, tg.CIs[:tg.NCI], tg.TPLCI, tg.Mode, dumpRecords(tg.Records))
		fmt.Printf("payload %X\nexpected %v\n\n", tg.Payload, row.Expected)
	}
}
