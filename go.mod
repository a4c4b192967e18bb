module github.com/smgw/smgw

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
