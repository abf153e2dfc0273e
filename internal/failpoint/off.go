//go:build !failpoints

package failpoint

// Hit does nothing in builds without the "failpoints" tag.
func Hit(string) {}
