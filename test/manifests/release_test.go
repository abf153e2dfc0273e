package manifests

import (
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/stillwaters/db-concierge/test/stack"
)

// Every place that names the release a checkout installs names the same one, and none names a
// moving tag: with imagePullPolicy IfNotPresent, a node that has an image keeps running it.
func TestReleasePinsAgree(t *testing.T) {
	changelog := regexp.MustCompile(`(?m)^## (v\S+)`).FindSubmatch(read(t, "CHANGELOG.md"))
	if changelog == nil {
		t.Fatal("CHANGELOG.md has no '## vX.Y.Z' heading")
	}
	version := string(changelog[1])

	var chart struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(read(t, "charts/db-concierge/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	var values struct {
		Image struct{ Repository, Tag, PullPolicy string }
	}
	if err := yaml.Unmarshal(read(t, "charts/db-concierge/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	deployment := decode[appsv1.Deployment](t, "deploy/deployment.yaml")
	installer := regexp.MustCompile(`(?m)^readonly release_version=(\S+)$`).FindSubmatch(read(t, "install.sh"))
	if installer == nil {
		t.Fatal("install.sh sets no release_version")
	}

	pins := map[string]string{
		"charts/db-concierge/Chart.yaml appVersion":                chart.AppVersion,
		"charts/db-concierge/Chart.yaml version, with a v":         "v" + chart.Version,
		"deploy/deployment.yaml's image tag":                       strings.TrimPrefix(deployment.Spec.Template.Spec.Containers[0].Image, stack.ReleasedRepository+":"),
		"install.sh's release_version":                             string(installer[1]),
		"charts/db-concierge/values.yaml image.tag, or appVersion": valueOr(values.Image.Tag, chart.AppVersion),
	}
	for where, got := range pins {
		if got != version {
			t.Errorf("%s is %q; CHANGELOG.md's latest release is %s", where, got, version)
		}
	}
	if values.Image.Repository != stack.ReleasedRepository {
		t.Errorf("the chart's image.repository is %q, want %s", values.Image.Repository, stack.ReleasedRepository)
	}
	readme := string(read(t, "README.md"))
	for _, want := range []string{"releases/download/" + version + "/", "ref=" + version} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md's install does not use the release: no %q", want)
		}
	}
	// Every download, tag, image and file name of a release in the install docs is this one's.
	chartVersion := strings.TrimPrefix(version, "v")
	for _, path := range []string{"README.md", "docs/platform.md"} {
		text := string(read(t, path))
		for _, pin := range []struct {
			pattern *regexp.Regexp
			want    string
		}{
			{regexp.MustCompile(`releases/download/(v[0-9][^/\s]*)/`), version},
			{regexp.MustCompile(`ref=(v[0-9][^'"\s]*)`), version},
			{regexp.MustCompile(`db-concierge-operator:(v[0-9][^\s` + "`" + `]*[0-9])`), version},
			{regexp.MustCompile(`_(v[0-9]+\.[0-9]+\.[0-9]+)[._]`), version},
			{regexp.MustCompile(`db-concierge-([0-9]+\.[0-9]+\.[0-9]+)\.tgz`), chartVersion},
			{regexp.MustCompile(`The current one is (v[0-9.]*[0-9])`), version},
		} {
			for _, m := range pin.pattern.FindAllStringSubmatch(text, -1) {
				if m[1] != pin.want {
					t.Errorf("%s names %q, a release other than %s", path, m[0], version)
				}
			}
		}
	}
	for _, path := range []string{"README.md", "docs/platform.md", "deploy/deployment.yaml", "charts/db-concierge/values.yaml", "install.sh"} {
		if strings.Contains(string(read(t, path)), "db-concierge-operator:latest") {
			t.Errorf("%s names the image tag latest", path)
		}
	}
}

func valueOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
