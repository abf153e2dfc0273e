//go:build failpoints

package failpoint

import (
	"os"
	"syscall"
)

var armed = os.Getenv(EnvVar)

// Hit kills the process if the failpoint of this name is armed.
func Hit(name string) {
	if armed != "" && armed == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never return: the signal is on its way
	}
}
