package controller

import (
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"
)

// The probe loop announces a cluster that answers again without waiting for the controllers to
// read the announcement: more announcements than the channels hold, with nobody reading, return
// at once, and each is delivered once somebody reads.
func TestAnnouncingReachableNeverBlocks(t *testing.T) {
	tenants, clusters := make(chan event.GenericEvent, 2), make(chan event.GenericEvent, 2)
	announce := announceReachable(tenants, clusters)
	done := make(chan struct{})
	go func() {
		for range 10 {
			announce("c")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("announcing blocked while nobody read the channels")
	}
	for _, ch := range []chan event.GenericEvent{tenants, clusters} {
		for i := range 10 {
			select {
			case e := <-ch:
				if e.Object.GetName() != "c" {
					t.Errorf("announced %q", e.Object.GetName())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("announcement %d was lost", i+1)
			}
		}
	}
}
