// Package v1 holds the db.stillwaters.io/v1 API: the AppDatabase kind through which an
// application asks DB Concierge for a MySQL database, a user scoped to it and a credentials Secret.
//
// +kubebuilder:object:generate=true
// +groupName=db.stillwaters.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "db.stillwaters.io", Version: "v1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme. scheme.Builder is
	// deprecated for pulling controller-runtime into API packages; the only importer of this one
	// is this module, which depends on controller-runtime anyway.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion} //nolint:staticcheck // SA1019: see the comment above

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
