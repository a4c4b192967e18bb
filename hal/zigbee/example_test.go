package zigbee_test

import (
	"context"
	"fmt"
	"log"

	"github.com/smgw/smgw/hal/zigbee"
)

// Start the coordinator on the co-processor and let one in-home display
// join with the install code printed on it.
func Example() {
	z, err := zigbee.OpenZNP("/dev/smgw/zigbee", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer z.Close()
	ctx := context.Background()
	err = z.Start(ctx, zigbee.NetworkConfig{
		Channel: 15, PANID: 0x1A62, ExtendedPANID: 0x00124B0000C0FFEE,
		NetworkKey: [16]byte{ /* random, from the key store */ 1},
		Endpoints:  []zigbee.Endpoint{{ID: 1, Profile: 0x0109, DeviceID: 0x0500, InClusters: []uint16{0x0702}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	eui, _ := zigbee.ParseEUI64("00:0D:6F:00:0A:90:69:E8")
	code, err := zigbee.ParseInstallCode("83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5")
	if err != nil {
		log.Fatal(err)
	}
	if err := z.PermitJoin(ctx, eui, code, zigbee.MaxPermitJoin); err != nil {
		log.Fatal(err)
	}
	for e := range z.Events() {
		switch e := e.(type) {
		case zigbee.Announce:
			fmt.Println("joined:", e.Device)
		case zigbee.Incoming:
			fmt.Printf("frame from 0x%04X cluster 0x%04X\n", e.SrcAddr, e.Cluster)
		case zigbee.Reset:
			fmt.Println("co-processor restarted:", e.Reason)
		}
	}
}

func ExampleInstallCodeKey() {
	code, _ := zigbee.ParseInstallCode("83FED3407A939723A5C639B26916D505C3B5")
	key, _ := zigbee.InstallCodeKey(code)
	fmt.Printf("%X\n", key)
	// Output: 66B6900981E1EE3CA4206B6B861C02BB
}
