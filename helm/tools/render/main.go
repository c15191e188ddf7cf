// Command render renders a Helm chart's templates the way `helm template` does, for the subset
// of Helm the rfbcast chart uses, so the chart can be checked where no helm binary exists (CI
// here has Debian's Go and sprig, and no network to fetch Helm). Built in GOPATH mode against
// /usr/share/gocode; see scripts/check-helm.sh.
//
// What it does like Helm 3: values.yaml coalesced with each -f file (maps merge, a null deletes
// the key, anything else replaces); numbers in values become float64 (Helm reads values through
// JSON); text/template with sprig's TxtFuncMap minus env/expandenv, plus include, tpl, required,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, lookup (always empty, as in helm template)
// and fail; missingkey=zero with "<no value>" removed; .Values, .Release, .Chart, .Capabilities
// (APIVersions.Has, KubeVersion), .Files (Get, GetBytes, Lines, Glob) and .Template; the
// chart's kubeVersion constraint is checked against -kube-version. Partials
// (templates/_*) are not output; NOTES.txt is rendered (so its errors show) and written to
// -notes-out when given.
//
// Output: the manifests on stdout as `---\n# Source: CHART/templates/FILE\n<doc>` per document,
// like helm template; -raw-dir writes each template's exact output (what `include` returns, so
// checksum annotations can be recomputed); -values-out writes the coalesced values as JSON.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver" // Debian installs v3 at the v1 path
	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has reports whether the API version (group/version or group/version/Kind) is available.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

// Capabilities is .Capabilities.
type Capabilities struct {
	APIVersions VersionSet
	KubeVersion KubeVersion
	HelmVersion map[string]string
}

// Files is .Files: the chart's files outside templates/.
type Files map[string][]byte

// Get returns a file's content, or "" when there is no such file (as Helm does).
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's content as bytes.
func (f Files) GetBytes(name string) []byte { return f[name] }

// Lines returns a file's lines.
func (f Files) Lines(name string) []string {
	if f[name] == nil {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(f[name]), "\n"), "\n")
}

// Glob returns the files whose names match the pattern (path.Match, no `**`).
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

// Kubernetes built-in API versions `helm template` assumes without a cluster.
var builtinAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
	"rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "scheduling.k8s.io/v1",
	"coordination.k8s.io/v1", "discovery.k8s.io/v1", "apiextensions.k8s.io/v1",
	"admissionregistration.k8s.io/v1", "v1/ConfigMap", "v1/Secret", "v1/Service",
	"v1/ServiceAccount", "v1/Pod", "apps/v1/Deployment", "apps/v1/DaemonSet",
	"apps/v1/StatefulSet", "policy/v1/PodDisruptionBudget",
}

// jsonify turns YAML-decoded data into what Helm sees: JSON types (numbers are float64).
func jsonify(v interface{}) (interface{}, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out interface{}
	err = json.Unmarshal(b, &out)
	return out, err
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw map[string]interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	j, err := jsonify(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return j.(map[string]interface{}), nil
}

// coalesce merges override into base as Helm does for -f files.
func coalesce(base, override map[string]interface{}) map[string]interface{} {
	for k, v := range override {
		if v == nil {
			delete(base, k)
			continue
		}
		bm, bok := base[k].(map[string]interface{})
		om, ook := v.(map[string]interface{})
		if bok && ook {
			base[k] = coalesce(bm, om)
		} else {
			base[k] = v
		}
	}
	return base
}

// integral turns whole float64 values into int64 so toYaml writes 1000000, not 1e+06 (Helm's
// YAML goes through JSON, which writes whole numbers plainly).
func integral(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = integral(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = integral(x)
		}
		return out
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}

func toYAML(v interface{}) string {
	j, err := jsonify(v)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(integral(j)); err != nil {
		return ""
	}
	enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	var m map[string]interface{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	j, err := jsonify(m)
	if err != nil || j == nil {
		return map[string]interface{}{}
	}
	return j.(map[string]interface{})
}

func fromYAMLArray(s string) []interface{} {
	var a []interface{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return []interface{}{err.Error()}
	}
	j, _ := jsonify(a)
	if j == nil {
		return []interface{}{}
	}
	return j.([]interface{})
}

type renderer struct {
	tmpl         *template.Template
	includeDepth int
}

func (r *renderer) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		if r.includeDepth > 1000 {
			return "", fmt.Errorf("include %q: too deep (recursion?)", name)
		}
		r.includeDepth++
		defer func() { r.includeDepth-- }()
		var buf bytes.Buffer
		if err := r.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := r.tmpl.Clone()
		if err != nil {
			return "", err
		}
		name := "tpl"
		if top, ok := data.(map[string]interface{}); ok {
			if tm, ok := top["Template"].(map[string]interface{}); ok {
				name = fmt.Sprint(tm["Name"])
			}
		}
		t, err = t.New(name).Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return f
}

var docSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

func main() {
	var valueFiles, apiVersions stringList
	chartDir := flag.String("chart", "", "chart directory")
	flag.Var(&valueFiles, "f", "values file (repeatable, later wins)")
	flag.Var(&apiVersions, "api-versions", "extra .Capabilities.APIVersions entry (repeatable)")
	release := flag.String("release", "rfbcast", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.30.0", "cluster version for .Capabilities")
	rawDir := flag.String("raw-dir", "", "write each template's exact output here")
	valuesOut := flag.String("values-out", "", "write the coalesced values here as JSON")
	notesOut := flag.String("notes-out", "", "write the rendered NOTES.txt here")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "render: -chart DIR is required")
		os.Exit(2)
	}
	if err := run(*chartDir, valueFiles, apiVersions, *release, *namespace, *kubeVersion,
		*rawDir, *valuesOut, *notesOut); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(chartDir string, valueFiles, apiVersions []string, release, namespace, kubeVersion,
	rawDir, valuesOut, notesOut string) error {
	chartMeta, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chart := map[string]interface{}{}
	for k, v := range chartMeta {
		// Helm exposes Chart.yaml's fields capitalised: appVersion -> AppVersion.
		key := strings.ToUpper(k[:1]) + k[1:]
		if k == "apiVersion" {
			key = "APIVersion"
		}
		chart[key] = v
	}
	chartName, _ := chart["Name"].(string)
	if chartName == "" {
		return errors.New("Chart.yaml has no name")
	}

	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		o, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		values = coalesce(values, o)
	}
	if valuesOut != "" {
		b, _ := json.MarshalIndent(values, "", "  ")
		if err := os.WriteFile(valuesOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}

	files := Files{}
	var templates []string
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(templates)

	if c, ok := chart["KubeVersion"].(string); ok && c != "" {
		constraint, err := semver.NewConstraint(c)
		if err != nil {
			return fmt.Errorf("Chart.yaml kubeVersion %q: %v", c, err)
		}
		v, err := semver.NewVersion(kubeVersion)
		if err != nil {
			return fmt.Errorf("-kube-version %q: %v", kubeVersion, err)
		}
		if !constraint.Check(v) {
			return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with "+
				"Kubernetes %s", c, kubeVersion)
		}
	}
	major, minor := "1", "30"
	if m := regexp.MustCompile(`^v?(\d+)\.(\d+)`).FindStringSubmatch(kubeVersion); m != nil {
		major, minor = m[1], m[2]
	}
	caps := Capabilities{
		APIVersions: append(VersionSet(builtinAPIVersions), apiVersions...),
		KubeVersion: KubeVersion{Version: kubeVersion, Major: major, Minor: minor,
			GitVersion: kubeVersion},
		HelmVersion: map[string]string{"Version": "v3.14.0"},
	}
	rel := map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1}

	r := &renderer{}
	r.tmpl = template.New("gotpl").Option("missingkey=zero")
	r.tmpl.Funcs(r.funcs())
	for _, t := range templates {
		data, err := os.ReadFile(filepath.Join(chartDir, t))
		if err != nil {
			return err
		}
		name := chartName + "/" + t
		if _, err := r.tmpl.New(name).Parse(string(data)); err != nil {
			return fmt.Errorf("parse error in %s: %v", name, err)
		}
	}

	var out strings.Builder
	var notesText string
	for _, t := range templates {
		base := path.Base(t)
		if strings.HasPrefix(base, "_") {
			continue
		}
		name := chartName + "/" + t
		top := map[string]interface{}{
			"Values": values, "Release": rel, "Chart": chart, "Capabilities": caps,
			"Files": files,
			"Template": map[string]interface{}{"Name": name,
				"BasePath": chartName + "/templates"},
		}
		var buf bytes.Buffer
		if err := r.tmpl.ExecuteTemplate(&buf, name, top); err != nil {
			return fmt.Errorf("rendering %s: %v", name, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if rawDir != "" {
			dst := filepath.Join(rawDir, filepath.FromSlash(t))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
				return err
			}
		}
		if base == "NOTES.txt" {
			notesText = text
			continue
		}
		for _, doc := range docSeparator.Split(text, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, strings.TrimSpace(doc))
		}
	}
	if notesOut != "" {
		if err := os.WriteFile(notesOut, []byte(notesText), 0o644); err != nil {
			return err
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}
