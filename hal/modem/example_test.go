package modem_test

import (
	"context"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/modem"
)

// Open the modem's AT port, prepare it and read its state.
func Example() {
	port, err := modem.Open("/dev/ttyUSB2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer port.Close()
	m := modem.New(port, &modem.Options{Timeout: 5 * time.Second})
	ctx := context.Background()
	if err := m.Init(ctx, "internet"); err != nil {
		fmt.Println(err)
		return
	}
	st, err := m.Status(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Registration, st.Operator, st.RSSI, "dBm")
}
