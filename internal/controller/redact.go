package controller

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
)

// What tenants read instead of the cluster's admin details.
const (
	redactedEndpoint = "the cluster's admin endpoint"
	redactedAdmin    = "the operator's admin account"
)

// redact returns message without the admin details of cfg: each admin endpoint (host:port, and
// the host alone unless applications are told it anyway) and each mention of the admin user —
// quoted ('x', "x", `x`, as MySQL and Go print names) or before an @ (x@host, 'x'@'host').
// A tenant's status and Events are read by everyone with access to the namespace; the admin
// endpoint and account are the platform team's, and the operator's log keeps them.
//
// It is a backstop: messages are written for tenants in the first place, but the MySQL layer and
// the driver put these details into errors, and an error reaches the status as its message.
func redact(message string, cfg cluster.Config) string {
	endpoints := make([]string, 0, 2*len(cfg.Admin))
	var hosts []string
	for _, e := range cfg.Admin {
		endpoints = append(endpoints, e.String())
		if e.Host != "" && e.Host != cfg.App.Host {
			hosts = append(hosts, e.Host)
		}
	}
	// Longer first, so that no endpoint is left half replaced inside another.
	byLength := func(a, b string) int { return len(b) - len(a) }
	slices.SortFunc(endpoints, byLength)
	slices.SortFunc(hosts, byLength)
	for _, e := range endpoints {
		message = replaceWhole(message, e, redactedEndpoint, isHostByte, isDigit)
	}
	for _, h := range hosts {
		message = replaceWhole(message, h, redactedEndpoint, isHostByte, isHostByte)
	}
	if user := cfg.AdminUser; user != "" && strings.Contains(message, user) {
		message = adminAtHost(user).ReplaceAllString(message, "${1}"+redactedAdmin)
		for _, quote := range []string{"'", `"`, "`"} {
			message = strings.ReplaceAll(message, quote+user+quote, redactedAdmin)
		}
	}
	return message
}

// adminAtHosts holds adminAtHost's expressions by admin user: a cluster has one admin user, and
// compiling its expression for every message redacted cost more than the rest of a pass.
var adminAtHosts sync.Map

// adminAtHost matches the admin user before an @ and the host after it, quoted or not, as MySQL
// prints an account ('x'@'host') and people write one (x@host).
func adminAtHost(user string) *regexp.Regexp {
	if re, ok := adminAtHosts.Load(user); ok {
		return re.(*regexp.Regexp)
	}
	u := regexp.QuoteMeta(user)
	names := `(?:'` + u + `'|"` + u + `"|` + "`" + u + "`" + `|` + u + `)`
	hosts := `(?:'[^']*'|"[^"]*"|` + "`[^`]*`" + `|[\w.%:\[\]-]*)`
	re, _ := adminAtHosts.LoadOrStore(user, regexp.MustCompile(`(^|[^\w$])`+names+`@`+hosts))
	return re.(*regexp.Regexp)
}

// replaceWhole replaces each occurrence of token in s whose neighbours are not part of a longer
// word (joined reports whether a byte before or after would continue it).
func replaceWhole(s, token, with string, joinedBefore, joinedAfter func(byte) bool) string {
	var b strings.Builder
	for {
		i := strings.Index(s, token)
		if i < 0 {
			break
		}
		end := i + len(token)
		if (i > 0 && joinedBefore(s[i-1])) || (end < len(s) && joinedAfter(s[end])) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(with)
		s = s[end:]
	}
	b.WriteString(s)
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHostByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '-' || c == '_'
}

// tenantMessage is message as the tenant db may read it: without its cluster's admin details.
func (r *AppDatabaseReconciler) tenantMessage(db *dbv1.AppDatabase, message string) string {
	cfg, found := r.Clusters.Current(db.Spec.ClusterRef)
	if !found {
		return message
	}
	return redact(message, cfg)
}

// redactingRecorder records Events about AppDatabases with their cluster's admin details left out
// (see redact), whoever composed the note.
type redactingRecorder struct {
	recorder.EventRecorder
	redact func(db *dbv1.AppDatabase, note string) string
}

func (r redactingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", r.note(regarding, note, args))
}

func (r redactingRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.AnnotatedEventf(regarding, related, annotations, eventtype, reason, action, "%s", r.note(regarding, note, args))
}

func (r redactingRecorder) note(regarding runtime.Object, note string, args []any) string {
	text := fmt.Sprintf(note, args...)
	if db, ok := regarding.(*dbv1.AppDatabase); ok {
		return r.redact(db, text)
	}
	return text
}
