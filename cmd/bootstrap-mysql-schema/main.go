// Command bootstrap-mysql-schema asks DB Concierge for a MySQL database and prints how to connect.
// Installed as kubectl-concierge, it is also the kubectl plugin "kubectl concierge".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stillwaters/db-concierge/internal/cli"
	"github.com/stillwaters/db-concierge/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := cli.NewCommand(cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, version.Get().String())
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(cli.ExitCode(err))
	}
}
