// Command bootstrap-mysql-schema asks DB Concierge for a MySQL database and prints how to connect.
// Installed as kubectl-concierge, it is also the kubectl plugin "kubectl concierge".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/stillwaters/db-concierge/internal/cli"
)

// version is set at build time (-ldflags "-X main.version=..."); otherwise it comes from the
// module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := cli.NewCommand(cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, buildVersion())
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(cli.ExitCode(err))
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "dev"
}
