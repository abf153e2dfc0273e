package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// rotateOptions are the flags of the rotate command.
type rotateOptions struct {
	name, namespace, platformNamespace string
	timeout                            time.Duration
	noWait                             bool
}

func rotateCommand(use string, kube *genericclioptions.ConfigFlags, streams Streams) *cobra.Command {
	o := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate --name NAME [--namespace NAMESPACE] [flags]",
		Short: "Give every account of an AppDatabase new credentials, without downtime",
		Long: `Asks the operator to rotate the credentials of every account of an AppDatabase, and waits
until it has. Each account's Secret then names a new login (the account's rotation partner) with a
new password. The previous credentials keep working for the grace period (spec.passwordRotation.
gracePeriod, default 1h), so applications can restart with the new ones at any time within it.

A rotation asked for while an earlier one's grace period runs starts when it ends.

Exit codes: 0 rotated; 1 the request could not be made; 2 invalid flags; 3 the operator reports a
failure that needs a person; 4 not rotated within --timeout.`,
		Example:       "  " + use + " rotate --name myapp --namespace myapp",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotate(cmd.Context(), o, kube, streams)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "name of the AppDatabase (required)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "the application's namespace (default: the kubeconfig context's namespace)")
	f.StringVar(&o.platformNamespace, "platform-namespace", "", "the AppDatabase is in this platform namespace, not the application's")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the rotation")
	f.BoolVar(&o.noWait, "no-wait", false, "ask for the rotation and return without waiting for it")
	return cmd
}

func rotate(ctx context.Context, o *rotateOptions, kube *genericclioptions.ConfigFlags, streams Streams) error {
	if o.name == "" {
		return usageErrorf("--name is required")
	}
	namespace := firstNonEmpty(o.platformNamespace, o.namespace)
	if namespace == "" {
		ns, _, err := kube.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from your kubeconfig: %w (pass --namespace)", err)
		}
		namespace = ns
	}
	c, err := newClient(kube)
	if err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: namespace, Name: o.name}
	var db dbv1.AppDatabase
	if err := c.Get(ctx, key, &db); err != nil {
		return explainAPIError(err, "get", "appdatabases", namespace)
	}
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, dbv1.AnnotationRotatePassword, stamp)
	if err := c.Patch(ctx, &db, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return explainAPIError(err, "patch", "appdatabases", namespace)
	}
	fmt.Fprintf(streams.Out, "Rotation of AppDatabase %s asked for.\n", key)
	if s := db.Status.PasswordRotation; s != nil && s.PreviousValidUntil != nil && time.Now().Before(s.PreviousValidUntil.Time) {
		fmt.Fprintf(streams.Out, "The previous rotation's grace period runs until %s: this one starts then.\n", s.PreviousValidUntil.UTC().Format(time.RFC3339))
	}
	if o.noWait {
		fmt.Fprintf(streams.Out, "Not waiting (--no-wait). Follow it with: kubectl get appdatabase %s -n %s -o jsonpath='{.status.passwordRotation}'\n", key.Name, key.Namespace)
		return nil
	}
	rotated := func(db *dbv1.AppDatabase) (bool, bool) {
		ready, failed := done(db)
		handled := db.Status.PasswordRotation != nil && db.Status.PasswordRotation.LastHandledRotateAt == stamp
		return ready && handled, failed
	}
	got, err := waitForOutcome(ctx, c, key, o.timeout, rotated, func(state) {})
	switch {
	case errors.Is(err, errTimedOut):
		return &codedError{code: ExitTimedOut, msg: fmt.Sprintf("the credentials were not rotated within %s.\nLook further with: kubectl describe appdatabase %s -n %s",
			o.timeout, key.Name, key.Namespace)}
	case err != nil:
		return fmt.Errorf("watching AppDatabase %s: %w", key, err)
	}
	if ok, _ := rotated(got); !ok {
		s := stateOf(got)
		return &codedError{code: ExitFailed, msg: fmt.Sprintf("the rotation failed (%s): %s\nLook further with: kubectl describe appdatabase %s -n %s",
			s.reason, s.message, key.Name, key.Namespace)}
	}
	fmt.Fprintln(streams.Out, "✓ Credentials rotated.")
	for _, a := range got.Status.Accounts {
		fmt.Fprintf(streams.Out, "  Secret %s/%s now holds user %s\n", got.EffectiveAppNamespace(), a.SecretName, firstNonEmpty(a.User, a.Name))
	}
	if s := got.Status.PasswordRotation; s.PreviousValidUntil != nil {
		fmt.Fprintf(streams.Out, "The previous credentials log in until %s: restart the applications before then.\n", s.PreviousValidUntil.UTC().Format(time.RFC3339))
	}
	return nil
}
