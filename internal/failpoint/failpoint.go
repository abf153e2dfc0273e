// Package failpoint lets crash-safety tests kill the operator at a named step. It is compiled in
// only with the "failpoints" build tag; in every other build Hit does nothing.
package failpoint

// EnvVar names the environment variable that arms a failpoint: the process kills itself
// (SIGKILL, no cleanup) the first time it reaches the step of that name.
const EnvVar = "DB_CONCIERGE_FAILPOINT"
