module github.com/smgw/smgw

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/coreos/go-systemd/v22 v22.7.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sync v0.24.0
)

require golang.org/x/sys v0.49.0 // indirect
