// Package manifests checks the shipped manifests, chart and Dockerfile against the promises the
// docs make: a locked-down operator pod, least-privilege RBAC, a non-root static image.
package manifests

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// OperatorLabel is the label the seed's commands select the operator's pods with.
const OperatorLabel = "app.kubernetes.io/name"

// CheckOperatorDeployment returns every way d falls short of the operator's security and
// operability policy; none means it passes.
func CheckOperatorDeployment(d *appsv1.Deployment) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if d.Name != "db-concierge-operator" {
		fail("Deployment is named %q, want db-concierge-operator", d.Name)
	}
	pod := d.Spec.Template.Spec
	if d.Spec.Template.Labels[OperatorLabel] != "db-concierge-operator" {
		fail("pods lack the label %s=db-concierge-operator", OperatorLabel)
	}
	if pod.ServiceAccountName != "db-concierge-operator" {
		fail("serviceAccountName is %q", pod.ServiceAccountName)
	}
	psc := pod.SecurityContext
	if psc == nil {
		fail("no pod securityContext")
	} else {
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			fail("pod securityContext.runAsNonRoot is not true")
		}
		if psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			fail("pod securityContext.runAsUser is not a non-zero numeric UID")
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			fail("pod seccompProfile is not RuntimeDefault")
		}
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			fail("volume %q mounts Secret %q; the operator reads Secrets through the API", v.Name, v.Secret.SecretName)
		}
	}
	if len(pod.Containers) != 1 {
		fail("%d containers, want 1", len(pod.Containers))
		return problems
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil {
		fail("no container securityContext")
	} else {
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			fail("allowPrivilegeEscalation is not false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			fail("readOnlyRootFilesystem is not true")
		}
		if sc.Privileged != nil && *sc.Privileged {
			fail("container is privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			fail("capabilities do not drop ALL (or add some)")
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			fail("env %s comes from a Secret; the operator reads Secrets through the API", e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		fail("envFrom is set; the operator reads its configuration through the API")
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if _, ok := ports["metrics"]; !ok {
		fail("no port named metrics")
	}
	checkProbe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			fail("no HTTP %s probe", kind)
			return
		}
		if p.HTTPGet.Path != path {
			fail("%s probe path is %q, want %s", kind, p.HTTPGet.Path, path)
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			fail("%s probe port %s is not a declared port", kind, p.HTTPGet.Port.String())
		}
	}
	checkProbe("liveness", c.LivenessProbe, "/healthz")
	checkProbe("readiness", c.ReadinessProbe, "/readyz")
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			fail("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		fail("no memory limit")
	}
	for _, want := range []string{"--leader-elect", "--health-probe-bind-address=:", "--metrics-bind-address=:"} {
		if !slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, want) }) {
			fail("args lack %s", want)
		}
	}
	return problems
}
