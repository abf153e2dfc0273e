package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// TestWaitEnds: the wait says why it ended, and only the timeout is reported as one. (Waits that
// end Ready or Failed run against a real API server in test/e2e: the fake client does not stream
// the initial list the way client-go's informers ask for it.)
func TestWaitEnds(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := dbv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pending := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team"}}

	cases := []struct {
		name      string
		interrupt bool
		want      error
	}{
		{"not ready in time", false, errTimedOut},
		{"interrupted", true, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(pending).
				WithIndex(&dbv1.AppDatabase{}, "metadata.name", func(o client.Object) []string { return []string{o.GetName()} }).
				Build()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.interrupt {
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			_, err := waitForOutcome(ctx, kube, client.ObjectKeyFromObject(pending), 2*time.Second, done, func(state) {})
			if !errors.Is(err, c.want) {
				t.Errorf("ended with %v, want %v", err, c.want)
			}
		})
	}
}
