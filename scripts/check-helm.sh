#!/usr/bin/env bash
# Checks the Helm chart in helm/rfbcast where no helm binary exists (Debian packages only):
#
# 1. Builds helm/tools/render (Go, GOPATH mode against Debian's /usr/share/gocode: sprig, yaml.v3)
#    which renders the chart as `helm template` does.
# 2. yamllint on the chart's own YAML (Chart.yaml, values.yaml, ci/, examples/); Chart.yaml's
#    appVersion equals the project version in CMakeLists.txt; the seccomp profile is valid JSON
#    that refuses by default and allows io_uring.
# 3. For values.yaml and every ci/*-values.yaml: the coalesced values validate against
#    values.schema.json (python3-jsonschema, as Helm does before rendering); the chart renders
#    (NOTES.txt too); yamllint passes on the output; and assertions on the parsed objects:
#    security contexts, seccomp profile, probes on /healthz and /readyz by the named metrics
#    port, every container port named, Services target named ports and select the pods,
#    checksum/config equals the sha256 of the rendered configmap.yaml, no Secret objects and no
#    secrets in env or args, secret files mounted read-only and every *_file path inside a
#    mount, the config is valid TOML, a ServiceMonitor exactly when enabled, and in sidecar mode
#    no Deployment but an initContainers entry with restartPolicy Always.
# 4. It can fail: values the schema must reject, a render that must fail (drain not shorter
#    than the grace period), and a tampered render the assertions must reject.
# 5. examples/desktop-sidecar.yaml passes the same container assertions.
# 6. When an rfbcast binary is at hand ($RFBCAST_BIN, else build/rfbcast): `--check-config` on
#    each rendered config (secret files replaced by stand-ins); every flag the chart passes is in
#    `rfbcast --help`; and, with python3-seccomp installed,
#    rfbcast runs under the seccomp profile (tini too, when installed) and serves a viewer, and
#    fails with its io_uring message once io_uring is taken out of the profile.
#
# Packages: yamllint python3-jsonschema python3-yaml golang-go golang-github-masterminds-sprig-dev
# golang-gopkg-yaml.v3-dev; optional: python3-seccomp, tini, vncsnapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=helm/rfbcast

py=python3
if /usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null; then py=/usr/bin/python3; fi
missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v yamllint >/dev/null || missing+=(yamllint)
$py -c 'import jsonschema' 2>/dev/null || missing+=(python3-jsonschema)
$py -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
[[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ]] ||
  missing+=(golang-github-masterminds-sprig-dev)
[[ -d /usr/share/gocode/src/gopkg.in/yaml.v3 ]] || missing+=(golang-gopkg-yaml.v3-dev)
if ((${#missing[@]})); then
  echo "check-helm: missing packages: apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

tmp=$(mktemp -d -t rfbcast-helm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "  FAIL $*"; failures=$((failures + 1)); }
ok() { echo "  ok   $*"; }

echo "== build the renderer"
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS="" GOCACHE="${TMPDIR:-/tmp}/rfbcast-helm-gocache" \
  go build -o "$tmp/render" ./helm/tools/render
if [[ -n "$(gofmt -l helm/tools/render)" ]]; then fail "gofmt: helm/tools/render"; fi
ok "helm/tools/render built"

yamllint_cfg='{extends: default, rules: {line-length: {max: 120}, document-start: disable,
  indentation: {spaces: 2, indent-sequences: whatever}, truthy: {check-keys: false},
  comments: {min-spaces-from-content: 1}}}'
rendered_cfg='{extends: default, rules: {line-length: {max: 160}, document-start: {present: true},
  indentation: {spaces: 2, indent-sequences: whatever}, truthy: {check-keys: false},
  comments: {min-spaces-from-content: 1}, comments-indentation: disable}}'

echo "== chart files"
if yamllint -s -d "$yamllint_cfg" $chart/Chart.yaml $chart/values.yaml $chart/ci/*.yaml \
  $chart/examples/*.yaml; then
  ok "yamllint: Chart.yaml, values.yaml, ci/, examples/"
else
  fail "yamllint on the chart's YAML files"
fi

# ---- the assertions on rendered objects ----------------------------------------------------------
cat > "$tmp/assert.py" <<'PY'
"""Assertions on a rendered chart: assert.py MANIFESTS RAW_DIR VALUES_JSON CHART_DIR
(or assert.py --example FILE). Prints each problem; exits 1 if there is any."""
import hashlib
import json
import os
import re
import sys
import tomllib

import yaml

problems = []


def bad(msg):
    problems.append(msg)


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")  # IANA_SVC_NAME
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_container(c, where, want, sidecar):
    """want: dict with seccomp (type, profile), uid, grace, drain (or None)."""
    name = f"{where} container {c.get('name')}"
    sc = c.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        bad(f"{name}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad(f"{name}: readOnlyRootFilesystem must be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        bad(f"{name}: capabilities.drop must contain ALL")
    if (sc.get("capabilities") or {}).get("add"):
        bad(f"{name}: adds capabilities")
    if sc.get("privileged"):
        bad(f"{name}: privileged")
    if sc.get("runAsNonRoot") is not True:
        bad(f"{name}: runAsNonRoot must be true")
    if sc.get("runAsUser") != want["uid"]:
        bad(f"{name}: runAsUser {sc.get('runAsUser')}, want {want['uid']}")
    sp = sc.get("seccompProfile") or want.get("pod_seccomp") or {}
    if sp.get("type") != want["seccomp_type"]:
        bad(f"{name}: seccompProfile.type {sp.get('type')}, want {want['seccomp_type']}")
    if want["seccomp_type"] == "Localhost" and sp.get("localhostProfile") != want["profile"]:
        bad(f"{name}: localhostProfile {sp.get('localhostProfile')}, want {want['profile']}")
    if sidecar and c.get("restartPolicy") != "Always":
        bad(f"{name}: a native sidecar needs restartPolicy: Always")
    ports = c.get("ports") or []
    names = [p.get("name") for p in ports]
    for p in ports:
        if not p.get("name"):
            bad(f"{name}: port {p.get('containerPort')} has no name")
        elif not PORT_NAME.match(p["name"]):
            bad(f"{name}: port name {p['name']!r} is not a valid IANA service name")
        if not isinstance(p.get("containerPort"), int) or not 0 < p["containerPort"] < 65536:
            bad(f"{name}: containerPort {p.get('containerPort')!r}")
    if len(set(names)) != len(names):
        bad(f"{name}: duplicate port names {names}")
    by_name = {p.get("name"): p.get("containerPort") for p in ports}
    if by_name.get("metrics") != want["metrics_port"]:
        bad(f"{name}: metrics port {by_name.get('metrics')}, want {want['metrics_port']}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        g = ((c.get(probe) or {}).get("httpGet")) or {}
        if g.get("path") != path or g.get("port") not in ("metrics", want["metrics_port"]):
            bad(f"{name}: {probe} must GET {path} on the metrics port, has {g}")
    res = c.get("resources") or {}
    if not res.get("requests") or not (res.get("limits") or {}).get("memory"):
        bad(f"{name}: resources need requests and a memory limit")
    args = [str(a) for a in c.get("args") or []]
    for a in args:
        if re.match(r"--[\w-]*(password|secret|key|token)(=|$)", a) and "-file" not in a:
            bad(f"{name}: secret passed on the command line: {a}")
    if want.get("drain") is not None:
        if f"--drain-timeout={want['drain']}" not in args:
            bad(f"{name}: --drain-timeout={want['drain']} missing")
        if want["drain"] >= want["grace"]:
            bad(f"{name}: drain {want['drain']} s not shorter than grace {want['grace']} s")
    if f"--metrics-listen=0.0.0.0:{want['metrics_port']}" not in args and \
            not any(a.startswith("--metrics-listen=[::]:") for a in args):
        bad(f"{name}: --metrics-listen on all addresses missing (the probes need it)")
    if "--log-format=json" not in args:
        bad(f"{name}: --log-format=json missing")
    for e in c.get("env") or []:
        if "secretKeyRef" in (e.get("valueFrom") or {}):
            bad(f"{name}: env {e.get('name')} from a Secret (secrets are files)")
        if re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", e.get("name", "")) and "value" in e:
            bad(f"{name}: env {e['name']} carries a secret value")
    mounts = c.get("volumeMounts") or []
    if not any(m.get("mountPath") == "/tmp" for m in mounts):
        bad(f"{name}: no writable /tmp (the root filesystem is read-only)")
    return args, mounts


def check_volumes(where, mounts, volumes):
    vols = {v.get("name"): v for v in volumes}
    if len(vols) != len(volumes):
        bad(f"{where}: duplicate volume names")
    for m in mounts:
        v = vols.get(m.get("name"))
        if v is None:
            bad(f"{where}: volumeMount {m.get('name')} has no volume")
            continue
        if ("secret" in v or "configMap" in v) and m.get("readOnly") is not True:
            bad(f"{where}: {m['name']} (secret/config) must be mounted readOnly")
        if "secret" in v and not m.get("mountPath", "").startswith("/run/secrets/"):
            bad(f"{where}: secret {m['name']} mounted at {m.get('mountPath')}, not /run/secrets")


def file_paths_in_mounts(where, paths, mounts):
    roots = [m.get("mountPath", "").rstrip("/") + "/" for m in mounts]
    for p in paths:
        if not any(p.startswith(r) for r in roots):
            bad(f"{where}: {p} is not inside any mounted volume")


def file_args(args):
    return [a.split("=", 1)[1] for a in args
            if re.match(r"--[\w-]*-file=", a) and a.split("=", 1)[1].startswith("/")]


def toml_file_keys(table):
    out = []
    for k, v in table.items():
        if k.endswith("_file") and isinstance(v, str) and v:
            out.append(v)
    for s in table.get("session", []) or []:
        out += toml_file_keys(s)
    return out


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_chart(manifests, raw_dir, values, chart_dir):
    docs = load_docs(manifests)
    kinds = {}
    for d in docs:
        kinds.setdefault(d.get("kind"), []).append(d)
        md = d.get("metadata") or {}
        where = f"{d.get('kind')}/{md.get('name')}"
        if d.get("kind") not in ("ConfigMap", "Service", "Deployment", "ServiceMonitor"):
            bad(f"{where}: unexpected kind (no Secret or other object may be rendered)")
        if not d.get("apiVersion"):
            bad(f"{where}: no apiVersion")
        if not DNS_LABEL.match(md.get("name") or ""):
            bad(f"{where}: name is not a DNS label")
        labels = md.get("labels") or {}
        for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                  "app.kubernetes.io/managed-by", "helm.sh/chart"):
            if k not in labels:
                bad(f"{where}: label {k} missing")
        if not md.get("namespace"):
            bad(f"{where}: no namespace")
    sidecar = bool(values["sidecar"]["enabled"])
    seccomp = values["seccomp"]
    want = {"seccomp_type": seccomp["type"], "profile": seccomp.get("localhostProfile"),
            "uid": values["securityContext"]["runAsUser"], "grace":
            values["terminationGracePeriodSeconds"], "drain": values["drainTimeoutSeconds"],
            "metrics_port": values["ports"]["metrics"]}

    raw_cm = open(os.path.join(raw_dir, "templates", "configmap.yaml"), "rb").read()
    checksum = hashlib.sha256(raw_cm).hexdigest()

    cms = {c["metadata"]["name"]: c for c in kinds.get("ConfigMap", [])}
    config_cm = [c for c in cms.values() if "rfbcast.toml" in (c.get("data") or {})]
    config_table = {}
    if len(config_cm) != 1:
        bad(f"want one ConfigMap with rfbcast.toml, found {len(config_cm)}")
    else:
        try:
            config_table = tomllib.loads(config_cm[0]["data"]["rfbcast.toml"])
        except tomllib.TOMLDecodeError as e:
            bad(f"rfbcast.toml is not valid TOML: {e}")
        if not values["config"]["raw"]:
            n = len(config_table.get("session", []))
            if n != len(values["config"]["sessions"]):
                bad(f"rfbcast.toml has {n} sessions, values {len(values['config']['sessions'])}")
            for k, v in values["config"]["settings"].items():
                if config_table.get(k) != v:
                    bad(f"rfbcast.toml: {k} = {config_table.get(k)!r}, values say {v!r}")
    seccomp_cm = [c for c in cms.values() if "rfbcast-io-uring.json" in (c.get("data") or {})]
    if seccomp["profileConfigMap"]:
        profile = open(os.path.join(chart_dir, "files", "rfbcast-io-uring.json")).read()
        if len(seccomp_cm) != 1 or seccomp_cm[0]["data"]["rfbcast-io-uring.json"] != profile:
            bad("the seccomp ConfigMap does not hold files/rfbcast-io-uring.json verbatim")
    elif seccomp_cm:
        bad("seccomp ConfigMap rendered though seccomp.profileConfigMap is false")

    deployments = kinds.get("Deployment", [])
    if sidecar:
        if deployments:
            bad("sidecar mode renders a Deployment")
        snip = [c for c in cms.values() if "initContainers.yaml" in (c.get("data") or {})]
        if len(snip) != 1:
            bad("sidecar mode: no ConfigMap with initContainers.yaml")
            return docs
        data = snip[0]["data"]
        init = yaml.safe_load(data["initContainers.yaml"])
        vols = yaml.safe_load(data["volumes.yaml"])
        ann = yaml.safe_load(data["annotations.yaml"])
        pod_spec = yaml.safe_load(data["podSpec.yaml"])
        if not isinstance(init, list) or len(init) != 1:
            bad("initContainers.yaml must hold one container")
            return docs
        args, mounts = check_container(init[0], "sidecar", want, sidecar=True)
        check_volumes("sidecar", mounts, vols)
        file_paths_in_mounts("sidecar args", file_args(args), mounts)
        file_paths_in_mounts("sidecar config", toml_file_keys(config_table), mounts)
        if ann.get("checksum/config") != checksum:
            bad(f"sidecar checksum/config {ann.get('checksum/config')} != sha256 of the "
                f"rendered configmap.yaml {checksum}")
        if pod_spec.get("enableServiceLinks") is not False:
            bad("sidecar podSpec.yaml must turn enableServiceLinks off")
        pod_labels = values["sidecar"]["podSelector"]
        container_ports = {p["name"] for p in init[0].get("ports") or []}
    else:
        if len(deployments) != 1:
            bad(f"want one Deployment, found {len(deployments)}")
            return docs
        dep = deployments[0]
        tmpl = dep["spec"]["template"]
        spec = tmpl["spec"]
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") != want["uid"]:
            bad(f"pod securityContext runAsNonRoot/runAsUser: {psc}")
        if (psc.get("seccompProfile") or {}).get("type") != want["seccomp_type"]:
            bad(f"pod seccompProfile {psc.get('seccompProfile')}")
        if spec.get("terminationGracePeriodSeconds") != want["grace"]:
            bad(f"terminationGracePeriodSeconds {spec.get('terminationGracePeriodSeconds')}")
        if spec.get("automountServiceAccountToken") is not False:
            bad("automountServiceAccountToken must be false")
        if spec.get("enableServiceLinks") is not False:
            bad("enableServiceLinks must be false (RFBCAST_* variables are flags)")
        if spec.get("initContainers"):
            bad("the Deployment has init containers")
        cs = spec.get("containers") or []
        if [c.get("name") for c in cs] != ["rfbcast"]:
            bad(f"the Deployment runs {[c.get('name') for c in cs]}, want rfbcast alone")
            return docs
        want["pod_seccomp"] = psc.get("seccompProfile")
        args, mounts = check_container(cs[0], "Deployment", want, sidecar=False)
        check_volumes("Deployment", mounts, spec.get("volumes") or [])
        file_paths_in_mounts("args", file_args(args), mounts)
        file_paths_in_mounts("config", toml_file_keys(config_table), mounts)
        got = (tmpl.get("metadata", {}).get("annotations") or {}).get("checksum/config")
        if got != checksum:
            bad(f"checksum/config {got} != sha256 of the rendered configmap.yaml {checksum}")
        pod_labels = tmpl["metadata"]["labels"]
        if not selects(dep["spec"]["selector"]["matchLabels"], pod_labels):
            bad("the Deployment's selector does not match its pod labels")
        container_ports = {p["name"] for p in cs[0].get("ports") or []}

    services = {s["metadata"]["name"]: s for s in kinds.get("Service", [])}
    for name, s in services.items():
        ports = s["spec"].get("ports") or []
        names = [p.get("name") for p in ports]
        if len(set(names)) != len(names) or not all(names):
            bad(f"Service/{name}: port names must be set and unique: {names}")
        for p in ports:
            if p.get("targetPort") not in container_ports:
                bad(f"Service/{name}: targetPort {p.get('targetPort')} is no named container port")
        if not selects(s["spec"].get("selector"), pod_labels):
            bad(f"Service/{name}: selector {s['spec'].get('selector')} misses the pods")
    metrics_svcs = [s for s in services.values()
                    if any(p.get("name") == "metrics" for p in s["spec"].get("ports") or [])]
    for s in metrics_svcs:
        if s["spec"].get("type", "ClusterIP") != "ClusterIP" or len(s["spec"]["ports"]) != 1:
            bad(f"Service/{s['metadata']['name']}: metrics belong on a ClusterIP Service alone")
    want_metrics_svc = values["metrics"]["service"]["enabled"] or \
        values["serviceMonitor"]["enabled"]
    if want_metrics_svc != bool(metrics_svcs):
        bad(f"metrics Service rendered: {bool(metrics_svcs)}, expected {want_metrics_svc}")
    want_ports = {"vnc"} | ({"http"} if values["http"]["enabled"] else set()) | \
        ({"repeater"} if values["repeater"]["enabled"] else set())
    main = [s for s in services.values() if s not in metrics_svcs]
    if len(main) != 1 or {p["name"] for p in main[0]["spec"]["ports"]} != want_ports:
        bad(f"want one viewer Service with ports {sorted(want_ports)}")

    sms = kinds.get("ServiceMonitor", [])
    if values["serviceMonitor"]["enabled"]:
        if len(sms) != 1:
            bad(f"serviceMonitor.enabled: want one ServiceMonitor, found {len(sms)}")
        else:
            sm = sms[0]
            if sm["apiVersion"] != "monitoring.coreos.com/v1":
                bad(f"ServiceMonitor apiVersion {sm['apiVersion']}")
            sel = sm["spec"]["selector"]["matchLabels"]
            hit = [s for s in services.values() if selects(sel, s["metadata"]["labels"])]
            if hit != metrics_svcs:
                bad("the ServiceMonitor must select the metrics Service and nothing else")
            eps = sm["spec"].get("endpoints") or []
            if not eps or eps[0].get("port") != "metrics" or eps[0].get("path") != "/metrics":
                bad(f"ServiceMonitor endpoints {eps}")
    elif sms:
        bad("a ServiceMonitor rendered though serviceMonitor.enabled is false")
    return docs


def check_example(path):
    docs = load_docs(path)
    deps = [d for d in docs if d.get("kind") == "Deployment"]
    svcs = [d for d in docs if d.get("kind") == "Service"]
    if len(deps) != 1 or len(svcs) != 1:
        bad(f"{path}: want one Deployment and one Service")
        return
    spec = deps[0]["spec"]["template"]["spec"]
    init = [c for c in spec.get("initContainers") or [] if c.get("name") == "rfbcast"]
    if len(init) != 1:
        bad(f"{path}: rfbcast must be an init container (native sidecar)")
        return
    want = {"seccomp_type": "Localhost", "profile": "profiles/rfbcast-io-uring.json",
            "uid": 65532, "grace": spec.get("terminationGracePeriodSeconds"), "drain": 25,
            "metrics_port": 9860}
    args, mounts = check_container(init[0], path, want, sidecar=True)
    if "--upstream=127.0.0.1:5901" not in args:
        bad(f"{path}: the sidecar must reflect the desktop on 127.0.0.1:5901")
    check_volumes(path, mounts, spec.get("volumes") or [])
    file_paths_in_mounts(path, file_args(args), mounts)
    if not any("Xvnc" in " ".join(c.get("command") or []) for c in spec.get("containers", [])):
        bad(f"{path}: no Xvnc desktop container")
    if spec.get("enableServiceLinks") is not False:
        bad(f"{path}: enableServiceLinks must be false")
    labels = deps[0]["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"] for p in init[0]["ports"]}
    for p in svcs[0]["spec"]["ports"]:
        if p.get("targetPort") not in ports:
            bad(f"{path}: Service targetPort {p.get('targetPort')} is no rfbcast port")
    if not selects(svcs[0]["spec"]["selector"], labels):
        bad(f"{path}: the Service does not select the desktop pods")


if sys.argv[1] == "--example":
    check_example(sys.argv[2])
else:
    with open(sys.argv[3]) as f:
        check_chart(sys.argv[1], sys.argv[2], json.load(f), sys.argv[4])
for p in problems:
    print(f"    {p}")
sys.exit(1 if problems else 0)
PY

cat > "$tmp/schema.py" <<'PY'
"""schema.py SCHEMA VALUES_JSON...: validates each like Helm does (draft 7), printing the errors.
With --expect-invalid first, each must be rejected instead; prints those that were accepted."""
import json
import sys

import jsonschema

args = sys.argv[1:]
expect_invalid = args[0] == "--expect-invalid"
if expect_invalid:
    args = args[1:]
schema = json.load(open(args[0]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
status = 0
for path in args[1:]:
    errors = sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.path))
    if expect_invalid and not errors:
        print(f"    accepted: {path}")
        status = 1
    elif not expect_invalid:
        for e in errors:
            print(f"    {'/'.join(str(p) for p in e.path) or '(root)'}: {e.message[:200]}")
            status = 1
sys.exit(status)
PY

app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' $chart/Chart.yaml)
project_version=$(sed -n 's/^project(rfbcast VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [[ "$app_version" == "$project_version" && -n "$app_version" ]]; then
  ok "Chart.yaml appVersion $app_version = CMakeLists.txt project version"
else
  fail "Chart.yaml appVersion '$app_version' != CMakeLists.txt project version '$project_version'"
fi
if $py - "$chart/files/rfbcast-io-uring.json" <<'PY'; then
import json, sys
p = json.load(open(sys.argv[1]))
allowed = {n for s in p["syscalls"] if s["action"] == "SCMP_ACT_ALLOW" for n in s["names"]}
names = [n for s in p["syscalls"] for n in s["names"]]
problems = []
if p.get("defaultAction") != "SCMP_ACT_ERRNO":
    problems.append("defaultAction must be SCMP_ACT_ERRNO")
if not {"io_uring_setup", "io_uring_enter", "io_uring_register"} <= allowed:
    problems.append("io_uring_setup/enter/register must be allowed")
if "archMap" in p or not p.get("architectures"):
    problems.append("use the OCI 'architectures' list (containerd ignores Docker's archMap)")
if len(names) != len(set(names)):
    problems.append("a syscall is listed twice")
for danger in ("ptrace", "bpf", "mount", "umount2", "unshare", "setns", "keyctl", "add_key",
               "kexec_load", "init_module", "finit_module", "perf_event_open", "userfaultfd",
               "open_by_handle_at", "pivot_root", "chroot", "reboot", "swapon", "personality",
               "process_vm_readv", "process_vm_writev", "io_setup", "mq_open", "shmget"):
    if danger in allowed:
        problems.append(f"{danger} must not be allowed")
clone = [s for s in p["syscalls"] if "clone" in s["names"]]
if not clone or not clone[0].get("args"):
    problems.append("clone must be restricted to flags without namespaces")
for x in problems:
    print("    " + x)
sys.exit(1 if problems else 0)
PY
  ok "files/rfbcast-io-uring.json: refuses by default, allows io_uring, none of the dangerous calls"
else
  fail "files/rfbcast-io-uring.json"
fi

render() {  # render OUT_DIR [values files...]: renders into OUT_DIR/{manifests.yaml,raw,values.json}
  local out=$1
  shift
  mkdir -p "$out"
  local args=()
  for f in "$@"; do args+=(-f "$f"); done
  "$tmp/render" -chart $chart -release rfbcast -namespace rfbcast -raw-dir "$out/raw" \
    -values-out "$out/values.json" -notes-out "$out/NOTES.txt" \
    -api-versions monitoring.coreos.com/v1 "${args[@]}" > "$out/manifests.yaml"
}

echo "== render and check each values file"
cases=(values)
for f in "$chart"/ci/*-values.yaml; do cases+=("$f"); done
for c in "${cases[@]}"; do
  name=$(basename "$c" .yaml)
  out="$tmp/$name"
  files=()
  [[ "$c" == values ]] || files=("$c")
  if ! render "$out" "${files[@]}" 2> "$out.err"; then
    fail "$name: render failed: $(cat "$out.err")"
    continue
  fi
  if ! $py "$tmp/schema.py" $chart/values.schema.json "$out/values.json"; then
    fail "$name: values.schema.json rejects the values"
  fi
  if ! yamllint -s -d "$rendered_cfg" "$out/manifests.yaml" > "$out/yamllint.txt"; then
    fail "$name: yamllint on the rendered manifests"
    sed 's/^/    /' "$out/yamllint.txt"
  fi
  if ! grep -q "rfbcast $app_version: release" "$out/NOTES.txt"; then
    fail "$name: NOTES.txt did not render"
  fi
  if $py "$tmp/assert.py" "$out/manifests.yaml" "$out/raw" "$out/values.json" $chart; then
    ok "$name: schema, render, yamllint, $(grep -c '^kind:' "$out/manifests.yaml") objects asserted"
  else
    fail "$name: assertions"
  fi
done

echo "== the checks can fail"
neg=0
negatives=()
reject() {  # reject NAME YAML: the schema must refuse these values
  local out="$tmp/neg-$1"
  printf '%s\n' "$2" > "$tmp/neg-$1.yaml"
  neg=$((neg + 1))
  # Helm validates before it renders; the renderer writes the values first, so a template's
  # own `fail` does not hide what the schema says.
  render "$out" "$tmp/neg-$1.yaml" 2>/dev/null || true
  if [[ -s "$out/values.json" ]]; then
    negatives+=("$out/values.json")
  else
    fail "negative case $1: the values did not even load"
  fi
}
reject unconfined-seccomp 'seccomp: {type: Unconfined}'
reject root-user 'securityContext: {runAsUser: 0}'
reject writable-root 'securityContext: {readOnlyRootFilesystem: false}'
reject escalation 'securityContext: {allowPrivilegeEscalation: true}'
reject non-root-off 'podSecurityContext: {runAsNonRoot: false}'
reject capability-add 'securityContext: {capabilities: {drop: [ALL], add: [NET_ADMIN]}}'
reject no-drop-all 'securityContext: {capabilities: {drop: [NET_RAW]}}'
reject latest-tag 'image: {tag: latest}'
reject unknown-key 'replicas: 2'
reject listen-in-config 'config: {settings: {listen: "0.0.0.0:6000"}}'
reject nested-toml 'config: {settings: {limits: {max_fps: 3}}}'
reject session-without-name 'config: {sessions: [{upstream: "10.0.0.1:5901"}]}'
reject secret-in-env 'extraEnv: [{name: PW, valueFrom: {secretKeyRef: {name: s, key: k}}}]'
reject port-range 'ports: {vnc: 70000}'
reject sidecar-without-selector 'sidecar: {enabled: true}'
reject bad-secret-name 'secrets: {tls: {existingSecret: "Not_A_Name"}}'
reject extra-arg-not-a-flag 'extraArgs: [password]'
reject string-port 'ports: {metrics: "9860"}'
if ! $py "$tmp/schema.py" --expect-invalid $chart/values.schema.json "${negatives[@]}"; then
  fail "values.schema.json accepted values it must reject (above)"
fi
# A render that must fail: the drain must end before the kubelet's SIGKILL.
printf 'drainTimeoutSeconds: 30\nterminationGracePeriodSeconds: 30\n' > "$tmp/neg-drain.yaml"
neg=$((neg + 1))
if render "$tmp/neg-drain" "$tmp/neg-drain.yaml" 2>/dev/null; then
  fail "negative case drain-not-shorter: rendered"
fi
# Assertions that must fail: a render whose checksum, seccomp profile and probe were tampered with.
neg=$((neg + 1))
sed -e 's/checksum\/config: [0-9a-f]*/checksum\/config: 0000/' \
  -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
  -e 's/path: \/readyz/path: \/healthz/' \
  "$tmp/values/manifests.yaml" > "$tmp/tampered.yaml"
if $py "$tmp/assert.py" "$tmp/tampered.yaml" "$tmp/values/raw" "$tmp/values/values.json" \
  $chart > "$tmp/tampered.txt"; then
  fail "a tampered render passed the assertions"
elif [[ $(grep -c . "$tmp/tampered.txt") -lt 3 ]]; then
  fail "the tampered render should fail three ways: $(cat "$tmp/tampered.txt")"
fi
((failures)) || ok "$neg negative cases rejected (schema, render, assertions)"

echo "== examples/desktop-sidecar.yaml"
if $py "$tmp/assert.py" --example $chart/examples/desktop-sidecar.yaml; then
  ok "native sidecar with restartPolicy Always, security context, probes, Service"
else
  fail "examples/desktop-sidecar.yaml"
fi

bin="${RFBCAST_BIN:-build/rfbcast}"
if [[ -x "$bin" ]]; then
  echo "== with $bin"
  for c in "${cases[@]}"; do
    name=$(basename "$c" .yaml)
    [[ -f "$tmp/$name/manifests.yaml" ]] || continue
    $py - "$tmp/$name/manifests.yaml" "$tmp/$name.toml" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and "rfbcast.toml" in (d.get("data") or {}):
        open(sys.argv[2], "w").write(d["data"]["rfbcast.toml"])
PY
    # Secret files exist only in the pod: stand-ins with distinct contents, under $tmp.
    while read -r f; do
      mkdir -p "$tmp/secrets$(dirname "$f")"
      printf '%s-%s\n' "$name" "$f" | sha256sum | cut -c1-8 > "$tmp/secrets$f"
      chmod 600 "$tmp/secrets$f"
    done < <(sed -n 's/^[a-z_]*_file *= *"\(.*\)"$/\1/p' "$tmp/$name.toml")
    sed -i "s|^\([a-z_]*_file *= *\)\"/|\1\"$tmp/secrets/|" "$tmp/$name.toml"
    if "$bin" --check-config --config "$tmp/$name.toml" > "$tmp/$name.check" 2>&1; then
      ok "$name: rfbcast --check-config accepts the rendered config"
    else
      fail "$name: rfbcast --check-config: $(tail -3 "$tmp/$name.check")"
    fi
  done

  # Every flag the chart and the example pass must be one rfbcast knows.
  "$bin" --help > "$tmp/help.txt" 2>&1 || true
  unknown=$(cat "$tmp"/*/manifests.yaml $chart/examples/*.yaml |
    sed -n 's/^ *- \(--[a-z0-9-]*\)\(=.*\)\{0,1\}$/\1/p' | sort -u |
    while read -r flag; do grep -q -- "${flag}[ ,=]" "$tmp/help.txt" || echo "$flag"; done)
  if [[ -z "$unknown" ]]; then
    ok "every flag in the rendered args and the example is in rfbcast --help"
  else
    fail "flags rfbcast --help does not list: ${unknown//$'\n'/ }"
  fi

  if $py -c 'import seccomp' 2>/dev/null; then
    cat > "$tmp/seccomp_exec.py" <<'PY'
"""seccomp_exec.py PROFILE DROP COMMAND...: runs COMMAND under the OCI seccomp profile as runc
would load it (unknown names skipped), minus the comma-separated syscalls in DROP."""
import json
import os
import sys

import seccomp

profile = json.load(open(sys.argv[1]))
drop = set(filter(None, sys.argv[2].split(",")))
ops = {"SCMP_CMP_NE": seccomp.NE, "SCMP_CMP_LT": seccomp.LT, "SCMP_CMP_LE": seccomp.LE,
       "SCMP_CMP_EQ": seccomp.EQ, "SCMP_CMP_GE": seccomp.GE, "SCMP_CMP_GT": seccomp.GT,
       "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ}


def action(name, errno):
    return {"SCMP_ACT_ALLOW": seccomp.ALLOW, "SCMP_ACT_ERRNO": seccomp.ERRNO(errno)}[name]


f = seccomp.SyscallFilter(action(profile["defaultAction"], profile.get("defaultErrnoRet", 1)))
for rule in profile["syscalls"]:
    args = [seccomp.Arg(a["index"], ops[a["op"]], a["value"], a.get("valueTwo", 0))
            for a in rule.get("args", [])]
    for name in rule["names"]:
        if name in drop:
            continue
        try:
            f.add_rule(action(rule["action"], rule.get("errnoRet", 1)), name, *args)
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall on this architecture (runc skips these too)
f.load()
os.execvp(sys.argv[3], sys.argv[3:])
PY
    profile=$chart/files/rfbcast-io-uring.json
    port=$((20000 + RANDOM % 20000))
    log="$tmp/seccomp-run.log"
    launcher=()
    if command -v tini >/dev/null; then launcher=(tini -s --); fi
    has_flag() { grep -q -- "$1[ ,=]" "$tmp/help.txt"; }
    extra=()
    urls=()
    what=""
    if has_flag --metrics-listen; then
      extra+=(--metrics-listen "127.0.0.1:$((port + 2))")
      urls+=("http://127.0.0.1:$((port + 2))/healthz" "http://127.0.0.1:$((port + 2))/readyz"
        "http://127.0.0.1:$((port + 2))/metrics")
      what="/healthz /readyz /metrics"
    fi
    if has_flag --http-listen; then
      extra+=(--http-listen "127.0.0.1:$((port + 3))")
      urls+=("http://127.0.0.1:$((port + 3))/")
      what="$what, the browser page"
    fi
    $py "$tmp/seccomp_exec.py" $profile "" "${launcher[@]}" "$bin" \
      --listen "127.0.0.1:$port" "${extra[@]}" > "$log" 2>&1 &
    pid=$!
    served=no
    for _ in $(seq 1 50); do
      if grep -q '"started"\|info started' "$log" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if command -v vncsnapshot >/dev/null; then
      timeout 10 vncsnapshot -quiet "127.0.0.1::$port" "$tmp/snap.jpg" > /dev/null 2>&1 &&
        [[ -s "$tmp/snap.jpg" ]] && served=yes
    else
      # No viewer installed: an RFB greeting is the proof of a working event loop.
      exec 3<>"/dev/tcp/127.0.0.1/$port" && head -c 12 <&3 | grep -q '^RFB 003' && served=yes
      exec 3>&- || true
    fi
    if ((${#urls[@]})); then
      if $py - "${urls[@]}" <<'PY'; then
import sys, urllib.request
bad = 0
for url in sys.argv[1:]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read()
            if r.status != 200 or (url.endswith("/metrics") and b"rfbcast_" not in body):
                raise OSError(f"status {r.status}, {len(body)} bytes")
    except OSError as e:
        print(f"    {url}: {e}")
        bad = 1
sys.exit(bad)
PY
        ok "under the profile: ${what#, } answer 200"
      else
        fail "HTTP endpoints under the seccomp profile"
      fi
      if has_flag --healthcheck && has_flag --metrics-listen; then
        if RFBCAST_METRICS_LISTEN="127.0.0.1:$((port + 2))" \
          $py "$tmp/seccomp_exec.py" $profile "" "$bin" --healthcheck > "$tmp/hc.log" 2>&1; then
          ok "rfbcast --healthcheck (the image's HEALTHCHECK) exits 0 under the profile"
        else
          fail "rfbcast --healthcheck under the profile: $(cat "$tmp/hc.log")"
        fi
      fi
    else
      echo "  skip HTTP endpoints: this rfbcast has no --metrics-listen or --http-listen yet"
    fi
    kill -TERM "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    if [[ $served == yes && $rc == 0 ]]; then
      ok "rfbcast ${launcher:+under tini }ran under the profile, served a viewer, exited 0 on SIGTERM"
    else
      fail "rfbcast under the seccomp profile: served=$served exit=$rc: $(tail -5 "$log")"
    fi
    rc=0
    $py "$tmp/seccomp_exec.py" $profile io_uring_setup,io_uring_enter,io_uring_register "$bin" \
      --listen "127.0.0.1:$((port + 1))" > "$log" 2>&1 || rc=$?
    if [[ $rc != 0 ]] && grep -q 'io_uring is unavailable' "$log"; then
      ok "without the io_uring entries rfbcast exits $rc naming the fix (the harness enforces)"
    else
      fail "without io_uring in the profile rfbcast should exit with its message: $(cat "$log")"
    fi
  else
    echo "  skip seccomp run: python3-seccomp is not installed"
  fi
else
  echo "== no rfbcast binary ($bin): --check-config and the seccomp run skipped"
fi

echo "== $failures failures ($SECONDS s)"
((failures == 0))
