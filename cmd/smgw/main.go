package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it runs the command args name and
// returns the exit code. SIGINT and SIGTERM cancel the command's context
// (only here are signals handled).
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: stdout, stderr: stderr, now: time.Now}
	return c.main(ctx, args)
}
