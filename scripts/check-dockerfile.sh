#!/usr/bin/env bash
# Checks the Dockerfile on a machine without a Docker engine.
#
#   scripts/check-dockerfile.sh              run the build stage's commands here, in a temp dir
#   scripts/check-dockerfile.sh --quick DIR  reuse the build tree DIR (CI's own build) instead:
#                                            only the stage's `cmake --install` step runs
#
# 1. hadolint, when it is installed (it is not packaged in Debian).
# 2. Lint: every FROM is debian:bookworm-slim (optionally by digest), no `latest`; a pipefail
#    SHELL before RUN; apt-get install with -y and --no-install-recommends, apt lists removed in
#    the same RUN; no ADD or sudo; the final stage runs as a numeric non-root USER, with tini as
#    ENTRYPOINT, a HEALTHCHECK using `rfbcast --healthcheck`, STOPSIGNAL SIGTERM, the four ports
#    EXPOSEd and the OCI version label equal to the project version in CMakeLists.txt; the build
#    stage installs through scripts/install-deps.sh (CI's package list) with tests off.
# 3. The build stage's instructions run here: ARGs holding absolute paths are moved under a temp
#    root (the Dockerfile keeps every path it writes in an ARG for this), COPY copies from the
#    context filtered by .dockerignore, RUN runs through the stage's SHELL.
# 4. Every `COPY --from=<build stage>` source exists; rfbcast is found on the final stage's PATH
#    and starts outside the build tree (`--version`); every RFBCAST_* variable the image sets is
#    a flag `rfbcast --help` lists, and so is --healthcheck.
# 5. Every shared library `ldd rfbcast` reports belongs (dpkg -S) to a package the runtime stage
#    installs or to one of their dependencies (apt-cache depends --recurse); every package either
#    stage names exists (apt-cache show). Runtime library packages no library needs are warned.
set -euo pipefail
cd "$(dirname "$0")/.."

quick_dir=""
case "${1:-}" in
  --quick)
    quick_dir="${2:?usage: $0 --quick BUILD_DIR}"
    [[ -d "$quick_dir" ]] || { echo "check-dockerfile: no build directory $quick_dir" >&2; exit 2; }
    quick_dir="$(cd "$quick_dir" && pwd)"
    ;;
  "") ;;
  *) echo "usage: $0 [--quick BUILD_DIR]" >&2; exit 2 ;;
esac

status=0
if command -v hadolint >/dev/null; then
  echo "== hadolint"
  hadolint Dockerfile || status=1
else
  echo "== hadolint is not installed (not packaged in Debian); the built-in lint follows"
fi

QUICK_DIR="$quick_dir" python3 - <<'PY' || status=1
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

errors, warnings = [], []
t0 = time.time()


def fail(msg):
    errors.append(msg)
    print(f"  FAIL {msg}")


def warn(msg):
    warnings.append(msg)
    print(f"  warn {msg}")


def ok(msg):
    print(f"  ok   {msg}")


# ---- parsing ---------------------------------------------------------------------------------
def parse(text):
    """Instructions as (line, KEYWORD, arguments); continuations joined, comments dropped."""
    out, cur, start = [], None, 0
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if s.startswith("#") or (cur is None and not s):
            continue  # Docker drops comment lines, also inside a continuation
        if cur is None:
            cur, start = "", n
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1]  # Docker removes backslash-newline
            continue
        cur += line
        m = re.match(r"\s*([A-Za-z]+)\s*(.*)", cur, re.S)
        out.append((start, m.group(1).upper(), m.group(2).strip()))
        cur = None
    return out


def subst(s, env):
    def rep(m):
        name = m.group(1) or m.group(2)
        return env.get(name, "")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", rep, s)


def json_or_shell(args):
    if args.startswith("["):
        return json.loads(args)
    return None


def split_flags(args):
    """COPY/FROM style: leading --flag=value options, then the words."""
    words = shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    return flags, words


text = open("Dockerfile").read()
stages = []
for line, kw, args in parse(text):
    if kw == "FROM":
        flags, words = split_flags(args)
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else str(len(stages))
        stages.append({"line": line, "image": words[0], "name": name, "insts": []})
    elif not stages:
        if kw != "ARG":
            fail(f"Dockerfile:{line}: {kw} before the first FROM")
    else:
        stages[-1]["insts"].append((line, kw, args))

cmake_version = re.search(r"project\(rfbcast\s+VERSION\s+([0-9.]+)", open("CMakeLists.txt").read())
cmake_version = cmake_version.group(1) if cmake_version else None

# ---- lint ------------------------------------------------------------------------------------
print("== lint")
names = set()
for st in stages:
    img = st["image"]
    if img not in names and not re.fullmatch(r"debian:bookworm-slim(@sha256:[0-9a-f]{64})?", img):
        fail(f"Dockerfile:{st['line']}: FROM {img}: must be debian:bookworm-slim")
    names.add(st["name"])  # a later stage may start FROM an earlier one
if len(stages) < 2:
    fail("need a build stage and a runtime stage")
ok(f"{len(stages)} stages, each FROM debian:bookworm-slim")

apt_install = re.compile(r"apt-get\s+(?:-\S+\s+)*install\b(?P<rest>[^&;|]*)")


def apt_packages(run):
    pkgs = []
    for m in apt_install.finditer(run):
        for w in m.group("rest").split():
            if not w.startswith("-"):
                pkgs.append(w)
    return pkgs


for st in stages:
    have_pipefail = False
    for line, kw, args in st["insts"]:
        where = f"Dockerfile:{line}"
        if kw == "SHELL":
            have_pipefail = "pipefail" in json.loads(args)
        elif kw == "ADD":
            fail(f"{where}: ADD; use COPY")
        elif kw == "RUN":
            if "|" in args.replace("||", "") and not have_pipefail:
                fail(f"{where}: RUN with a pipe but no SHELL with -o pipefail before it")
            if not have_pipefail:
                fail(f"{where}: RUN before a SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]")
            if re.search(r"\bsudo\b", args):
                fail(f"{where}: sudo in RUN")
            for m in apt_install.finditer(args):
                seg = m.group(0)
                if "--no-install-recommends" not in seg:
                    fail(f"{where}: apt-get install without --no-install-recommends")
                if not re.search(r"\s-(y|\w*y\w*)\b|--yes|--assume-yes", seg):
                    fail(f"{where}: apt-get install without -y")
            if ("apt-get" in args or "install-deps.sh" in args) and \
                    not re.search(r"rm -rf /var/lib/apt/lists/\*", args):
                fail(f"{where}: RUN installs packages but does not remove /var/lib/apt/lists/*")
            if re.search(r"apt-get\s+upgrade|dist-upgrade", args):
                fail(f"{where}: apt-get upgrade in an image build")
deps = open("scripts/install-deps.sh").read()
if "--no-install-recommends" not in deps:
    fail("scripts/install-deps.sh: apt-get install without --no-install-recommends")
ok("SHELL pipefail, apt-get -y --no-install-recommends, apt lists removed, no ADD/sudo")

build, final = stages[0], stages[-1]
build_runs = "\n".join(a for _, k, a in build["insts"] if k == "RUN")
if "scripts/install-deps.sh" not in build_runs:
    fail("build stage does not install through scripts/install-deps.sh (CI's package list)")
if "-DRFBCAST_TESTS=OFF" not in build_runs or "RelWithDebInfo" not in build_runs:
    fail("build stage must build RelWithDebInfo with -DRFBCAST_TESTS=OFF")
if "cmake --install" not in build_runs:
    fail("build stage never runs cmake --install")

final_kw = {}
for line, kw, args in final["insts"]:
    final_kw.setdefault(kw, []).append((line, args))
final_args = {}
for line, args in final_kw.get("ARG", []):
    k, _, v = args.partition("=")
    final_args[k.strip()] = v.strip().strip('"')

user = final_kw.get("USER", [(0, "")])[-1][1]
m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
if not m:
    fail(f"final stage USER {user!r}: must be numeric (uid or uid:gid)")
elif int(m.group(1)) == 0 or (m.group(2) is not None and int(m.group(2)) == 0):
    fail(f"final stage USER {user}: must not be root")
else:
    ok(f"USER {user} (numeric, non-root)")

entry = final_kw.get("ENTRYPOINT", [(0, "null")])[-1][1]
if json_or_shell(entry) != ["tini", "--", "rfbcast"]:
    fail(f"ENTRYPOINT {entry}: must be [\"tini\",\"--\",\"rfbcast\"]")
hc = final_kw.get("HEALTHCHECK", [(0, "")])[-1][1]
hc_cmd = re.search(r"CMD\s+(.*)", hc, re.S)
hc_words = []
if hc_cmd:
    hc_words = json_or_shell(hc_cmd.group(1).strip()) or shlex.split(hc_cmd.group(1))
if not hc_words or hc_words[0] != "rfbcast" or "--healthcheck" not in hc_words:
    fail(f"HEALTHCHECK {hc!r}: must run rfbcast --healthcheck")
if [a for _, a in final_kw.get("STOPSIGNAL", [])] != ["SIGTERM"]:
    fail("STOPSIGNAL SIGTERM missing")
exposed = set()
for _, a in final_kw.get("EXPOSE", []):
    exposed |= {p.split("/")[0] for p in a.split()}
if not {"5900", "5800", "5500", "9860"} <= exposed:
    fail(f"EXPOSE {sorted(exposed)}: needs 5900 5800 5500 9860")
labels = " ".join(a for _, a in final_kw.get("LABEL", []))
lab = dict(re.findall(r'([\w.\-]+)="?([^"\s]*)"?', labels.replace("\\\n", " ")))
version = subst(lab.get("org.opencontainers.image.version", ""), final_args)
if version != cmake_version:
    fail(f"label org.opencontainers.image.version={version!r}, CMakeLists says {cmake_version!r}")
for k in ("title", "description", "version", "revision"):
    if f"org.opencontainers.image.{k}" not in lab:
        fail(f"OCI label org.opencontainers.image.{k} missing")
for n, l in enumerate(text.split("\n"), 1):
    if re.search(r"\blatest\b", l) and not l.lstrip().startswith("#"):
        fail(f"Dockerfile:{n}: mentions latest")
ok("ENTRYPOINT tini, HEALTHCHECK --healthcheck, STOPSIGNAL, EXPOSE, OCI labels checked")

# .dockerignore: Docker's syntax is Go filepath.Match per path plus `**`; these patterns are
# simple enough for fnmatch on the path and each of its parents.
ignore = []
if os.path.exists(".dockerignore"):
    for l in open(".dockerignore"):
        l = l.strip()
        if l and not l.startswith("#"):
            ignore.append(l.lstrip("/"))
else:
    fail(".dockerignore missing")


def ignored(rel):
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        p = "/".join(parts[:i])
        for pat in ignore:
            if pat.startswith("**/"):
                if fnmatch.fnmatch(parts[i - 1], pat[3:]):
                    return True
            elif fnmatch.fnmatch(p, pat):
                return True
    return False


for must in (".git", "build", "build-asan/CMakeCache.txt", "node_modules"):
    if not ignored(must):
        fail(f".dockerignore does not exclude {must}")
for keep in ("CMakeLists.txt", "codec/rect.h", "reflector/main.cpp", "scripts/install-deps.sh"):
    if ignored(keep):
        fail(f".dockerignore excludes {keep}, which the build needs")
ok(".dockerignore excludes build trees and .git, keeps the sources")

# ---- the build stage, here -------------------------------------------------------------------
quick = os.environ.get("QUICK_DIR", "")
tmp = tempfile.mkdtemp(prefix="rfbcast-dockerfile-")
root = os.path.join(tmp, "root")  # the build stage's filesystem paths, moved here
os.makedirs(root)
env = dict(os.environ)
cwd = root
shell = ["/bin/sh", "-c"]


def under_root(p, where):
    if not p.startswith("/"):
        return os.path.join(cwd, p)
    if p == root or p.startswith(root + "/"):
        return p
    fail(f"{where}: {p} is a fixed path; keep build-stage paths in an ARG so they can be moved")
    return None


def copy_context(srcs, dest, where):
    ctx = os.getcwd()
    to_dir = dest.endswith("/") or len(srcs) > 1
    for s in srcs:
        sp = os.path.normpath(os.path.join(ctx, s))
        if os.path.isdir(sp):
            for dirpath, dirnames, filenames in os.walk(sp):
                relbase = os.path.relpath(dirpath, ctx)
                relbase = "" if relbase == "." else relbase
                dirnames[:] = [d for d in dirnames
                               if not ignored(os.path.join(relbase, d) if relbase else d)]
                for f in filenames:
                    rel = os.path.join(relbase, f) if relbase else f
                    if ignored(rel):
                        continue
                    out = os.path.join(dest, os.path.relpath(os.path.join(dirpath, f), sp))
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copy2(os.path.join(dirpath, f), out, follow_symlinks=False)
        elif os.path.exists(sp):
            out = os.path.join(dest, os.path.basename(s)) if to_dir else dest
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy2(sp, out)
        else:
            fail(f"{where}: COPY source {s} does not exist")


print(f"== build stage '{build['name']}' " + (f"(quick: reusing {quick})" if quick else "(full)"))
for line, kw, args in build["insts"]:
    where = f"Dockerfile:{line}"
    if kw == "ARG":
        k, _, v = args.partition("=")
        k, v = k.strip(), subst(v.strip().strip('"'), env)
        if v.startswith("/"):
            v = root + v
        if quick and k == "BUILD_DIR":
            v = quick
        env[k] = v
    elif kw == "ENV":
        for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', args):
            env[k] = subst(v.strip('"'), env)
    elif kw == "SHELL":
        shell = json.loads(args)
    elif kw == "WORKDIR":
        p = under_root(subst(args, env), where)
        if p:
            os.makedirs(p, exist_ok=True)
            cwd = p
    elif kw == "COPY":
        flags, words = split_flags(args)
        if "from" in flags:
            fail(f"{where}: the build stage copies from another stage")
            continue
        dest = under_root(subst(words[-1], env), where)
        if dest:
            copy_context(words[:-1], dest, where)
    elif kw == "RUN":
        # The shell expands ARG and ENV values itself, as in Docker. Removing apt's lists is
        # image hygiene; here it would delete the host's package lists, so it is skipped.
        cmd = re.sub(r"rm -rf /var/lib/apt/lists/\*", "true", args)
        if quick:
            # CI built already: run only this RUN's install steps against its tree.
            steps = [s.strip() for s in re.split(r"&&", cmd) if "cmake --install" in s]
            if not steps:
                continue
            cmd = " && ".join(steps)
        print(f"  RUN ({where}) {' '.join(cmd.split())[:150]}")
        t = time.time()
        r = subprocess.run(shell + [cmd], cwd=cwd, env=env)
        if r.returncode != 0:
            fail(f"{where}: RUN exited {r.returncode}")
            break
        ok(f"{where}: RUN succeeded in {time.time() - t:.1f} s")
    elif kw in ("LABEL", "EXPOSE", "USER", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD"):
        pass
    else:
        warn(f"{where}: {kw} not emulated")

# ---- what the runtime stage takes from it ----------------------------------------------------
print("== runtime stage")
build_root_paths = {}
for line, kw, args in final["insts"]:
    if kw == "COPY":
        flags, words = split_flags(args)
        frm = flags.get("from")
        if frm is None:
            continue
        if frm != build["name"]:
            fail(f"Dockerfile:{line}: COPY --from={frm}: not the build stage")
            continue
        for s in words[:-1]:
            here = root + s if s.startswith("/") else os.path.join(root, s)
            if not os.path.exists(here):
                fail(f"Dockerfile:{line}: COPY --from={frm} {s}: the build stage did not create it")
            else:
                ok(f"COPY --from={frm} {s} exists after the build stage")
            build_root_paths[words[-1]] = here

final_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
image_vars = {}
for _, args in final_kw.get("ENV", []):
    for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', args):
        final_env[k] = subst(v.strip('"'), final_env)
        if k.startswith("RFBCAST_"):
            image_vars[k] = final_env[k]

binary = None
for d in final_env["PATH"].split(":"):
    for dst, here in build_root_paths.items():
        if d == dst or d.startswith(dst.rstrip("/") + "/"):
            cand = os.path.join(here, os.path.relpath(d, dst), "rfbcast")
            if os.access(cand, os.X_OK):
                binary = binary or cand
if binary is None:
    fail("rfbcast is not on the final stage's PATH among what it copies from the build stage")
else:
    ok(f"rfbcast found on the image PATH: {os.path.relpath(binary, root)}")
    web = os.path.join(os.path.dirname(os.path.dirname(binary)), "share/rfbcast/web")
    if not (os.path.isdir(web) and os.listdir(web)):
        fail("cmake --install put no browser viewer in share/rfbcast/web")
    clean = {"PATH": os.path.dirname(binary) + ":/usr/bin:/bin"}
    r = subprocess.run([binary, "--version"], env=clean, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"installed rfbcast --version exited {r.returncode}: {r.stderr.strip()[:200]}")
    else:
        ok(f"installed rfbcast runs: {r.stdout.strip()}")
    help_text = subprocess.run([binary, "--help"], env=clean, capture_output=True,
                               text=True).stdout
    before = len(errors)
    for var in sorted(image_vars):
        if f"Env:{var})" not in help_text:
            fail(f"ENV {var}: rfbcast --help lists no flag reading it")
    if "--healthcheck" not in help_text:
        fail("HEALTHCHECK runs rfbcast --healthcheck, which rfbcast --help does not list")
    if len(errors) == before:
        ok(f"--help knows --healthcheck and the image's {', '.join(sorted(image_vars))}")

# ---- packages --------------------------------------------------------------------------------
runtime_pkgs, build_pkgs = [], []
for line, kw, args in final["insts"]:
    if kw == "RUN":
        runtime_pkgs += apt_packages(args)
for line, kw, args in build["insts"]:
    if kw == "RUN":
        build_pkgs += apt_packages(args)
if not runtime_pkgs:
    fail("the runtime stage installs no packages")

wanted = sorted(set(runtime_pkgs + build_pkgs))
lists = "/var/lib/apt/lists"
if not any("_Packages" in f for f in os.listdir(lists) if os.path.isfile(f"{lists}/{f}")):
    # Without package lists apt-cache knows only what is installed.
    if os.geteuid() == 0:
        print("  (no apt package lists: apt-get update)")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
    else:
        fail("no apt package lists: run apt-get update, then this check")
r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + wanted, capture_output=True,
                   text=True)
found = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
for p in wanted:
    if p not in found:
        fail(f"package {p} does not exist in the configured Debian archive (apt-cache show)")
if set(wanted) <= found:
    ok(f"all {len(wanted)} packages the stages name exist (apt-cache show)")

r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                    "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]
                   + sorted(set(runtime_pkgs)), capture_output=True, text=True)
closure = {l.strip().strip("<>").split(":")[0] for l in r.stdout.splitlines()
           if l and not l[0].isspace()}
closure |= set(runtime_pkgs)


def owners(paths):
    """{library path: {package, ...}} through one dpkg -S call. Debian ships some libraries
    under /lib and others under /usr/lib (merged /usr), so each is asked both ways."""
    cands = {}
    for path in paths:
        for p in (path, os.path.realpath(path)):
            for c in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                cands.setdefault(c, set()).add(path)
    r = subprocess.run(["dpkg", "-S"] + sorted(cands), capture_output=True, text=True)
    out = {path: set() for path in paths}
    for line in r.stdout.splitlines():
        if line.startswith("diversion "):
            continue
        pkgs, _, file = line.rpartition(": ")
        for path in cands.get(file.strip(), ()):
            out[path] |= {p.strip().split(":")[0] for p in pkgs.split(",")}
    return out


if binary:
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = []
    for l in r.stdout.splitlines():
        l = l.strip()
        if "not found" in l:
            fail(f"ldd: {l}")
        m = re.match(r"(\S+) => (/\S+)", l) or re.match(r"(/\S+) \(0x", l)
        if m:
            libs.append(m.group(m.lastindex))
    used = set()
    before = len(errors)
    by_lib = owners(libs)
    for lib in libs:
        pk = by_lib[lib]
        used |= pk
        if not pk:
            fail(f"{lib}: no Debian package owns it (dpkg -S)")
        elif not pk & closure:
            fail(f"{lib} comes from {', '.join(sorted(pk))}, which the runtime stage does not "
                 "install (add it to the runtime apt-get install)")
    if libs and len(errors) == before:
        ok(f"all {len(libs)} libraries ldd lists come from the runtime packages or their "
           "dependencies")
    for p in runtime_pkgs:
        if (p.startswith("lib") or p == "zlib1g") and p not in used:
            warn(f"runtime package {p} provides no library rfbcast links today")

shutil.rmtree(tmp, ignore_errors=True)
print(f"== {len(errors)} failures, {len(warnings)} warnings ({time.time() - t0:.1f} s)")
sys.exit(1 if errors else 0)
PY
exit "$status"
