package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// Streams are where the command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// NewCommand builds the command. Invoked as kubectl-concierge it presents itself as the kubectl
// plugin "kubectl concierge".
func NewCommand(streams Streams, version string) *cobra.Command {
	o := &Options{}
	var maxUserConnections int32
	// Kubeconfig flags as kubectl has them, without --namespace and --cluster: here those name the
	// application's namespace and the MySQL cluster, as in the seed. Nor --user, which asks for an
	// extra MySQL account: --context picks the kubeconfig user.
	kube := genericclioptions.NewConfigFlags(true)
	kube.Namespace = nil
	kube.ClusterName = nil
	kube.AuthInfoName = nil

	name, display := "bootstrap-mysql-schema", "bootstrap-mysql-schema"
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		name, display = "kubectl-concierge", "kubectl concierge"
	}
	use := display
	cmd := &cobra.Command{
		Use:         name + " --name NAME [--namespace NAMESPACE] [flags]",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: display},
		Short:       "Ask DB Concierge for a MySQL database, a user and a credentials Secret",
		Long: `Creates an AppDatabase and waits until the operator has provisioned it: a MySQL database,
a user that can use only that database, and a Secret with the credentials in the application's
namespace. It then prints how to connect.

By default the AppDatabase is created in the application's namespace (self-service: the access of
deploy/dev-rbac.yaml is enough). With --platform-namespace it is created there instead, naming the
application's namespace, which needs the platform team's access.

Extra accounts on the same database (--user, --read-only-user) each get a Secret of their own,
named after the main one (myapp, user myapp_ro -> myapp-myapp-ro-mysql-creds). Their connection
limits and Secret names are set in a manifest (spec.users), not here.

Exit codes: 0 ready; 1 the request could not be made; 2 invalid flags; 3 provisioning failed in
a way that needs a person; 4 not ready within --timeout.`,
		Example: `  ` + use + ` --name myapp --namespace myapp
  ` + use + ` --name myapp --namespace myapp --output-env > .env
  ` + use + ` --name my-app --namespace myapp --deletion-policy Delete --no-wait
  ` + use + ` --name shop --namespace shop --read-only-user shop_ro --user shop_web:DataOnly`,
		Version:       version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("max-user-connections") {
				o.MaxUserConnections = &maxUserConnections
			}
			return run(cmd.Context(), o, kube, streams)
		},
	}
	// A value the flag parser refuses (--max-user-connections ten, an unknown flag) is an invalid
	// flag like the ones validate finds.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "name of the AppDatabase; the database name defaults to it with '-' as '_' (required)")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "the application's namespace, which receives the Secret (default: the kubeconfig context's namespace)")
	f.StringVar(&o.Cluster, "cluster", dbv1.DefaultClusterName, "the MySQL cluster (clusterRef) configured by the platform team")
	f.StringVar(&o.DeletionPolicy, "deletion-policy", string(dbv1.DeletionPolicyRetain), "Retain keeps the database when the AppDatabase is deleted; Delete drops it")
	f.BoolVar(&o.NoWait, "no-wait", false, "create the AppDatabase and return without waiting for it")
	f.BoolVar(&o.OutputEnv, "output-env", false, "print only the main user's credentials, as environment variables (for: source .env); extra accounts' are in their own Secrets")
	f.StringVar(&o.OutputEnvFormat, "output-env-format", string(credentials.EnvShell), "with --output-env: shell (export NAME='value', for source) or dotenv (NAME='value', for docker compose and dotenv libraries)")
	f.StringVar(&o.DBName, "db-name", "", "MySQL database name (default: --name with '-' as '_')")
	f.StringVar(&o.UserName, "user-name", "", "MySQL user name (default: database name + '_app')")
	f.StringVar(&o.SecretName, "secret-name", "", "Secret name (default: database name in lower case, '_' as '-', + '-mysql-creds')")
	f.StringVar(&o.Charset, "charset", "", "database character set (default utf8mb4)")
	f.StringVar(&o.Collation, "collation", "", "database collation (default utf8mb4_unicode_ci)")
	f.Int32Var(&maxUserConnections, "max-user-connections", 0, "cap `N` on the main user's simultaneous connections; 0 sets no cap of its own (default: the cluster's)")
	f.StringArrayVar(&o.Users, "user", nil, "an extra MySQL account `NAME:ACCESS` with a Secret of its own; ACCESS is ReadWrite, DataOnly (no CREATE, ALTER, DROP) "+
		"or ReadOnly; repeatable (an account's connection cap is set in a manifest: spec.users)")
	f.StringArrayVar(&o.ReadOnlyUsers, "read-only-user", nil, "an extra read-only account `NAME`, as --user NAME:ReadOnly; repeatable")
	f.StringVar(&o.PlatformNamespace, "platform-namespace", "", "create the AppDatabase in this platform namespace instead of the application's")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the database")
	f.StringVarP(&o.Output, "output", "o", "", "print the AppDatabase as json or yaml instead of the summary")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the AppDatabase that would be created, and create nothing")
	kube.AddFlags(cmd.PersistentFlags())
	_ = cmd.RegisterFlagCompletionFunc("deletion-policy", cobra.FixedCompletions([]string{"Retain", "Delete"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("user", completeUser)
	_ = cmd.RegisterFlagCompletionFunc("read-only-user", cobra.NoFileCompletions)
	cmd.AddCommand(completionCommand(cmd), rotateCommand(use, kube, streams))
	return cmd
}

// completeUser completes the ACCESS of --user NAME:ACCESS once "NAME:" is typed; the name is
// the user's to choose.
func completeUser(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	name, _, typed := strings.Cut(toComplete, ":")
	if !typed {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var values []string
	for _, a := range accessValues {
		if v := name + ":" + string(a); strings.HasPrefix(strings.ToLower(v), strings.ToLower(toComplete)) {
			values = append(values, v)
		}
	}
	return values, cobra.ShellCompDirectiveNoFileComp
}

func completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print a shell completion script",
		Example:   "  source <(bootstrap-mysql-schema completion bash)",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}

func run(ctx context.Context, o *Options, kube *genericclioptions.ConfigFlags, streams Streams) error {
	if err := o.validate(); err != nil {
		return err
	}
	target := o.Namespace
	if target == "" {
		ns, _, err := kube.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from your kubeconfig: %w (pass --namespace)", err)
		}
		target = ns
	}
	want := o.appDatabase(target)
	if o.DryRun {
		return printObject(streams.Out, want, firstNonEmpty(o.Output, "yaml"))
	}

	// Machine-readable modes keep stdout for their output; the story goes to stderr.
	human := o.Output == "" && !o.OutputEnv
	story := streams.Out
	if !human {
		story = streams.Err
	}
	c, err := newClient(kube)
	if err != nil {
		return err
	}
	printHeader(story, want)

	db, err := createOrReuse(ctx, c, want, story)
	if err != nil {
		return err
	}
	key := client.ObjectKeyFromObject(db)
	if o.NoWait {
		fmt.Fprintf(story, "Not waiting (--no-wait). Follow it with: kubectl get appdatabase %s -n %s -w\n", key.Name, key.Namespace)
		if o.Output != "" {
			return printObject(streams.Out, db, o.Output)
		}
		printAccounts(streams.Out, db)
		return nil
	}

	// A user who may create but not list or watch would otherwise wait in silence until the
	// timeout: the wait retries refused requests as it retries dropped connections.
	if err := c.List(ctx, &dbv1.AppDatabaseList{}, client.InNamespace(key.Namespace), client.Limit(1)); err != nil {
		return explainAPIError(err, "list", "appdatabases", key.Namespace)
	}
	probe, err := c.Watch(ctx, &dbv1.AppDatabaseList{}, client.InNamespace(key.Namespace), client.MatchingFields{"metadata.name": key.Name})
	if err != nil {
		return explainAPIError(err, "watch", "appdatabases", key.Namespace)
	}
	probe.Stop()
	fmt.Fprintln(story, "\nWaiting for database provisioning...")
	p := startProgress(story, human && isTerminal(story))
	db, err = waitForOutcome(ctx, c, key, o.Timeout, done, p.update)
	p.finish()
	switch {
	case errors.Is(err, errTimedOut):
		where := "no status yet: is the operator running?"
		if db != nil {
			where = "last state: " + describeState(stateOf(db))
		}
		return &codedError{code: ExitTimedOut, msg: fmt.Sprintf("the database was not ready within %s (%s).\nLook further with: kubectl describe appdatabase %s -n %s",
			o.Timeout, where, key.Name, key.Namespace)}
	case errors.Is(err, errWatchEnded):
		return &codedError{code: ExitError, msg: fmt.Sprintf("stopped waiting before --timeout: %v.\nLook further with: kubectl describe appdatabase %s -n %s",
			err, key.Name, key.Namespace)}
	case err != nil:
		return fmt.Errorf("watching AppDatabase %s: %w", key, err)
	}
	if ready, _ := done(db); !ready {
		s := stateOf(db)
		return &codedError{code: ExitFailed, msg: fmt.Sprintf("provisioning failed (%s): %s\nLook further with: kubectl describe appdatabase %s -n %s",
			s.reason, s.message, key.Name, key.Namespace)}
	}
	fmt.Fprintln(story, "✓ Database provisioned successfully!")

	switch {
	case o.OutputEnv:
		var s corev1.Secret
		skey := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: db.Spec.EffectiveSecretName()}
		if err := c.Get(ctx, skey, &s); err != nil {
			return explainAPIError(err, "get", "secrets", skey.Namespace)
		}
		return printEnv(streams.Out, &s, o.OutputEnvFormat)
	case o.Output != "":
		return printObject(streams.Out, db, o.Output)
	}
	printReady(streams.Out, db)
	return nil
}

// createOrReuse creates the AppDatabase; if one of that name exists with the same spec it is used
// as it is (running the command twice is harmless), and with another spec nothing is changed.
func createOrReuse(ctx context.Context, c client.Client, want *dbv1.AppDatabase, story io.Writer) (*dbv1.AppDatabase, error) {
	db := want.DeepCopy()
	err := c.Create(ctx, db)
	if err == nil {
		fmt.Fprintf(story, "appdatabase.db.stillwaters.io/%s created\n", db.Name)
		return db, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, explainAPIError(err, "create", "appdatabases", want.Namespace)
	}
	existing := &dbv1.AppDatabase{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(want), existing); err != nil {
		return nil, explainAPIError(err, "get", "appdatabases", want.Namespace)
	}
	if diffs := specDifferences(existing, want); len(diffs) > 0 {
		return nil, &codedError{code: ExitError, msg: fmt.Sprintf("AppDatabase %s/%s already exists with a different spec, and nothing was changed:\n  %s\n"+
			"Use another --name, or change the existing AppDatabase with kubectl.", want.Namespace, want.Name, strings.Join(diffs, "\n  "))}
	}
	fmt.Fprintf(story, "appdatabase.db.stillwaters.io/%s unchanged\n", existing.Name)
	return existing, nil
}

func newClient(kube *genericclioptions.ConfigFlags) (client.WithWatch, error) {
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading your kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := dbv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
