package main

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// The container's memory limit, as the kernel enforces it: cgroup v2, then v1.
var cgroupMemoryLimitFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// goMemoryShare is the part of the container's memory limit given to the Go heap as its soft
// limit: the rest is for what the runtime does not count (stacks, the binary, the kernel's view of
// freed pages not yet returned).
const goMemoryShare = 0.9

// noLimitAbove: a cgroup limit this large is no limit (cgroup v1 writes 2^63 rounded down to a
// page for "unlimited"); no container is given a petabyte.
const noLimitAbove = 1 << 50

// containerMemoryLimit returns the memory limit of the container the process runs in, or 0 when
// it has none or runs outside a cgroup with one. readFile reads a file (os.ReadFile).
func containerMemoryLimit(readFile func(string) ([]byte, error)) (int64, error) {
	for _, path := range cgroupMemoryLimitFiles {
		content, err := readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return parseCgroupMemoryLimit(string(content))
	}
	return 0, nil
}

// parseCgroupMemoryLimit reads the content of memory.max or memory.limit_in_bytes: a number of
// bytes, or "max". It returns 0 for no limit.
func parseCgroupMemoryLimit(content string) (int64, error) {
	value := strings.TrimSpace(content)
	if value == "max" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, errors.New("cgroup memory limit " + strconv.Quote(value) + " is not a number of bytes")
	}
	if limit <= 0 || limit >= noLimitAbove {
		return 0, nil
	}
	return limit, nil
}

// goMemoryLimit is the soft memory limit for a container limit, 0 for none.
func goMemoryLimit(containerLimit int64) int64 {
	return int64(float64(containerLimit) * goMemoryShare)
}
