package cli

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// Exit codes, documented in the command's help.
const (
	ExitError    = 1 // the request could not be made (API errors, access, installation)
	ExitUsage    = 2 // invalid flags, found before any API call
	ExitFailed   = 3 // the operator reports a failure that needs a person
	ExitTimedOut = 4 // not Ready within --timeout
)

// codedError is an error with the exit code the command ends with.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

// ExitCode returns the exit code for err: ExitError unless err says otherwise.
func ExitCode(err error) int {
	var e *codedError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitError
}

func usageErrorf(format string, args ...any) error {
	return &codedError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// explainAPIError turns an API error into a message a developer can act on.
func explainAPIError(err error, verb, resource, namespace string) error {
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err) && isMissingResource(err, resource):
		return &codedError{code: ExitError, msg: "DB Concierge is not installed in this cluster: the AppDatabase API " +
			"(appdatabases.db.stillwaters.io) is missing. Ask your platform team to install it (./install.sh in the DB Concierge repository)."}
	case apierrors.IsForbidden(err):
		return &codedError{code: ExitError, msg: fmt.Sprintf("you are not allowed to %s %s in namespace %q: ask your platform team for access "+
			"(deploy/dev-rbac.yaml grants it per namespace).\nThe API server said: %s", verb, resource, namespace, err.Error())}
	case apierrors.IsUnauthorized(err):
		return &codedError{code: ExitError, msg: "the API server does not accept your credentials: check your kubeconfig (--kubeconfig, --context). " + err.Error()}
	case apierrors.IsInvalid(err):
		return &codedError{code: ExitUsage, msg: "the API server rejected the AppDatabase: " + err.Error()}
	}
	return fmt.Errorf("%s %s in namespace %q: %w", verb, resource, namespace, err)
}

// isMissingResource tells a 404 for the resource type itself (the CRD is absent) from a 404 for
// one object.
func isMissingResource(err error, resource string) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Name == "" && d.Kind == resource
}
