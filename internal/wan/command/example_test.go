package command_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/smgw/smgw/internal/wan/command"
)

// The HES signs a command; the gateway verifies it against its policy.
func ExamplePolicy_Verify() {
	hesKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	args, _ := command.Marshal(map[string]string{"meter": "elec-1"})
	env, _ := command.Sign(hesKey, "hes-admin", &command.Payload{
		Version: 1, ID: "c-0001", Gateway: "gw-0042", Kind: "disconnect", Args: args,
		Issued: now.Unix(), Expires: now.Add(10 * time.Minute).Unix(),
	})

	policy := command.Policy{
		Gateway:     "gw-0042",
		Keys:        map[string]*command.Key{"hes-admin": {ID: "hes-admin", Role: command.RoleAdmin, Public: &hesKey.PublicKey}},
		MaxSkew:     5 * time.Minute,
		MaxValidity: 24 * time.Hour,
	}
	cmd, _, err := policy.Verify(env, now.Add(time.Minute))
	fmt.Println(cmd.Kind, cmd.ID, cmd.KeyID, err)
	_, _, err = policy.Verify(env, now.Add(time.Hour))
	fmt.Println(command.ReasonOf(err))
	// Output:
	// disconnect c-0001 hes-admin <nil>
	// expired
}
