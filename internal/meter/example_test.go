package meter_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/smgw/smgw/internal/meter"
)

func ExampleParseOBIS() {
	for _, s := range []string{"1-0:1.8.0*255", "1-0:1.8.0", "1.0.1.8.0.255", "0100010800FF"} {
		o, err := meter.ParseOBIS(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(o, o == meter.OBISActiveEnergyImport)
	}
	_, err := meter.ParseOBIS("1-0:1.8.256")
	fmt.Println(errors.Is(err, meter.ErrOBIS))
	// Output:
	// 1-0:1.8.0*255 true
	// 1-0:1.8.0*255 true
	// 1-0:1.8.0*255 true
	// 1-0:1.8.0*255 true
	// true
}

func ExampleValue_String() {
	fmt.Println(meter.V(12345, -3))
	fmt.Println(meter.V(-5, -2))
	fmt.Println(meter.V(12, 2))
	fmt.Println(meter.V(12340, -3))
	// Output:
	// 12.345
	// -0.05
	// 1200
	// 12.340
}

func ExampleParseValue() {
	v, _ := meter.ParseValue("1.5e3")
	fmt.Printf("%d×10^%d = %s\n", v.M, v.E, v)
	v, _ = meter.ParseValue("12.340")
	fmt.Printf("%d×10^%d = %s\n", v.M, v.E, v)
	// Output:
	// 15×10^2 = 1500
	// 12340×10^-3 = 12.340
}

func ExampleValue_Add() {
	a := meter.V(15, -1) // 1.5
	b := meter.V(25, -2) // 0.25
	s, _ := a.Add(b)     // exact, at the finer exponent
	fmt.Println(s, s.E)
	_, err := meter.V(math.MaxInt64, 0).Add(meter.V(1, 0))
	fmt.Println(errors.Is(err, meter.ErrOverflow))
	// Output:
	// 1.75 -2
	// true
}

func ExampleValue_Rescale() {
	v, _ := meter.V(1500, -3).Rescale(-1)
	fmt.Println(v.M, v.E)
	_, err := meter.V(12345, -3).Rescale(-2)
	fmt.Println(errors.Is(err, meter.ErrInexact))
	r, _ := meter.V(12345, -3).Round(-2)
	fmt.Println(r)
	// Output:
	// 15 -1
	// true
	// 12.35
}
