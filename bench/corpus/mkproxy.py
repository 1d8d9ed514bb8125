#!/usr/bin/env python3
"""bench/corpus/mkproxy.py ROOT DEBS OUT PROGRAMS: the module proxy and the program trees.

ROOT is the directory the pinned Debian packages were extracted into (their Go sources are in
ROOT/usr/share/gocode/src, GOPATH layout), DEBS the directory of those .deb files (to know which
package a file came from, for its version), OUT the corpus directory, PROGRAMS bench/corpus/programs.

Writes:
- OUT/proxy/: a GOPROXY (file://) with one version of every module found in ROOT: for each module
  `<escaped path>/@v/{list,<v>.info,<v>.mod,<v>.zip}` and `@latest`. Zips follow
  golang.org/x/mod/zip's rules: every path is `module@version/…`; directories holding another
  go.mod (nested modules), VCS directories, symlinks and other non-regular files are left out, as
  are files in vendored packages (`vendor/x/…`, the rule's exact, historical form); file names
  must pass module.CheckFilePath; no two paths may differ only in case; 500 MiB at most.
- The `go.mod` of every module (in its zip and as its .mod) keeps only its `module` and `go`
  lines: the requirements name versions Debian does not have, and this proxy has one version per
  module; `go mod tidy` of each program picks the modules it needs (tidy runs in the test
  machine: bench/corpus/tidy). A module without go.mod gets `module <path>` as its .mod, as real
  proxies serve such modules.
- Debian keeps some /vN modules in the directory of the path without /vN (GOPATH's layout, how
  Debian builds the packages that import them by the old path): such a module is served under
  both paths, each with its own go.mod module line.
- OUT/programs/<name>/: the program's main module, filtered the same way, its go.mod cut the same
  way and no go.sum (tidy writes both).
- OUT/modules.tsv: module, version, Debian package, source directory (what came from where).

Versions come from the Debian package's version (epoch, revision and +dfsg/+ds/~ds cut):
`1.9.0` is v1.9.0; `0.0~git20220101.abc1234` is the pseudo-version v0.0.0-20220101000000-abc123400000
(the hash padded to 12); a major version that the module path cannot carry (v2+ without a /vN
suffix in a module with a go.mod, or a /vN suffix that does not match) becomes a pseudo-version of
the path's major, dated from the package version's own date if it has one. A module without go.mod
at v2+ is +incompatible, as go names such versions.
"""
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile

FIXED_TIME = "2023-06-10T00:00:00Z"  # bookworm's release day: the .info time of release versions
MAX_ZIP = 500 << 20
MAX_GOMOD = 16 << 20
VCS_DIRS = {".bzr", ".git", ".hg", ".svn"}


def die(msg):
    print(f"mkproxy: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"mkproxy: {msg}", file=sys.stderr)


# ---- go.mod -----------------------------------------------------------------------------------

MODULE_RE = re.compile(r'^\s*module\s+(?:"([^"]+)"|(\S+))', re.M)
GO_RE = re.compile(r"^\s*go\s+([0-9][0-9.a-z]*)\s*(?://.*)?$", re.M)


def read_gomod(path):
    """(module path, go version or None) of a go.mod file."""
    text = open(path, encoding="utf-8", errors="replace").read()
    m = MODULE_RE.search(text)
    if not m:
        return None, None
    g = GO_RE.search(text)
    return m.group(1) or m.group(2), g.group(1) if g else None


def cut_gomod(module, go):
    """The go.mod the proxy serves: the module and go lines only."""
    return f"module {module}\n" + (f"\ngo {go}\n" if go else "")


# ---- module paths and versions ------------------------------------------------------------------

def escape(s):
    """Module path / version escaping of the GOPROXY protocol: upper case as !lower."""
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in s)


def path_major(module):
    """The major version a module path requires: N for a /vN or gopkg.in .vN suffix, else None."""
    if module.startswith("gopkg.in/"):
        m = re.search(r"\.v(\d+)(?:-unstable)?$", module)
        return int(m.group(1)) if m else None
    m = re.search(r"/v(\d+)$", module)
    return int(m.group(1)) if m and int(m.group(1)) >= 2 else None


def go_version(debver, module, has_gomod):
    """A Go module version for a module packaged at Debian version DEBVER."""
    v = debver.split(":", 1)[-1]
    v = v.rsplit("-", 1)[0] if "-" in v else v
    v = re.sub(r"[+~](dfsg|ds)[0-9.]*", "", v)
    v = re.sub(r"\+really.*", "", v)
    date = re.search(r"(?:git|svn|bzr|hg)(\d{8})(?:\.([0-9a-f]+))?", v)
    if date:
        ts = date.group(1) + "000000"
        rev = (date.group(2) or hashlib.sha256(debver.encode()).hexdigest())[:12].ljust(12, "0")
    else:
        ts = "20230610000000"
        rev = hashlib.sha256(debver.encode()).hexdigest()[:12]
    need = path_major(module)
    pseudo_major = need if need is not None else 0
    pseudo = f"v{pseudo_major}.0.0-{ts}-{rev}"
    if date:
        return pseudo
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:~(rc|beta|alpha)\.?(\d+))?$", v)
    if not m:
        return pseudo
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    pre = f"-{m.group(4)}.{m.group(5)}" if m.group(4) else ""
    ver = f"v{major}.{minor}.{patch}{pre}"
    if need is not None:
        if module.startswith("gopkg.in/") and need <= 1:
            return ver if major == need else pseudo
        return ver if major == need else pseudo
    if major <= 1:
        return ver
    return pseudo if has_gomod else ver + "+incompatible"


def pseudo_time(version):
    m = re.search(r"-(?:0\.)?(\d{14})-[0-9a-f]{12}$", version)
    if not m:
        return FIXED_TIME
    return datetime.datetime.strptime(m.group(1), "%Y%m%d%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")


def is_pseudo(version):
    return re.search(r"\d{14}-[0-9a-f]{12}$", version) is not None


# ---- the file rules of golang.org/x/mod/zip ------------------------------------------------------

BAD_WINDOWS = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}


def file_name_ok(c):
    if c < "\x80":
        return c.isalnum() or c in "!#$%&()+,-.=@[]^_{}~ "
    return unicodedata.category(c).startswith("L")


def check_file_path(rel):
    """None if REL passes module.CheckFilePath, else why not."""
    for elem in rel.split("/"):
        if elem in ("", ".", ".."):
            return f"path element {elem!r}"
        if elem.endswith("."):
            return "trailing dot in a path element"
        if not all(file_name_ok(c) for c in elem):
            return "invalid character"
        if elem.split(".", 1)[0].upper() in BAD_WINDOWS:
            return "Windows-reserved name"
    return None


def is_vendored_package(rel):
    """x/mod/zip's isVendoredPackage, including its historical offset (golang.org/issue/31562)."""
    if rel.startswith("vendor/"):
        i = len("vendor/")
    elif "/vendor/" in rel:
        i = len("/vendor/")  # sic: as x/mod/zip does; fixing it would change module checksums
    else:
        return False
    return "/" in rel[i:]


def module_files(root):
    """The files of the module at ROOT as x/mod/zip.CreateFromDir takes them: (relative path,
    absolute path) sorted; and the files it left out, with why."""
    files, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        keep = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if d in VCS_DIRS or os.path.islink(full):
                continue
            if os.path.isfile(os.path.join(full, "go.mod")):
                continue  # a nested module: not part of this one
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            rel = rel_dir + f
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            if is_vendored_package(rel):
                continue
            why = check_file_path(rel)
            if why:
                skipped.append((rel, why))
                continue
            files.append((rel, full))
    files.sort()
    seen = {}
    out = []
    for rel, full in files:
        low = rel.lower()
        if low in seen:
            skipped.append((rel, f"differs only in case from {seen[low]}"))
            continue
        seen[low] = rel
        out.append((rel, full))
    return out, skipped


def write_zip(dest, prefix, files, gomod):
    """A deterministic module zip: sorted, fixed times; go.mod replaced by GOMOD (or left out)."""
    size = 0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        entries = [(rel, full) for rel, full in files if rel != "go.mod"]
        if gomod is not None:
            entries.append(("go.mod", None))
        for rel, full in sorted(entries):
            data = gomod.encode() if full is None else open(full, "rb").read()
            if rel == "go.mod" and len(data) > MAX_GOMOD:
                die(f"{prefix}: go.mod larger than {MAX_GOMOD} bytes")
            size += len(data)
            info = zipfile.ZipInfo(f"{prefix}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    if size > MAX_ZIP:
        die(f"{prefix}: {size} bytes uncompressed, more than a module zip may hold ({MAX_ZIP})")
    with open(dest, "wb") as f:
        f.write(buf.getvalue())


# ---- Debian packages -----------------------------------------------------------------------------

def deb_index(debs):
    """{source file path under gocode/src: (package, version)} from the .deb files."""
    owner = {}
    for name in sorted(os.listdir(debs)):
        if not name.endswith(".deb"):
            continue
        path = os.path.join(debs, name)
        fields = subprocess.run(["dpkg-deb", "-f", path, "Package", "Version"], check=True,
                                capture_output=True, text=True).stdout
        meta = dict(line.split(": ", 1) for line in fields.strip().splitlines())
        listing = subprocess.run(["dpkg-deb", "-c", path], check=True, capture_output=True,
                                 text=True).stdout
        for line in listing.splitlines():
            if not line.startswith("-"):
                continue  # directories and symlinks own nothing
            f = line.split(None, 5)[5]
            f = f.split(" -> ")[0]
            p = "./usr/share/gocode/src/"
            if f.startswith(p):
                owner[f[len(p):]] = (meta["Package"], meta["Version"])
    return owner


# ---- main ----------------------------------------------------------------------------------------

def find_modules(src, owner):
    """[(module path, root dir relative to src, has go.mod)] of every module in SRC."""
    mods = {}  # module path: (root directory, has go.mod)
    aliases = {}
    gomod_dirs = set()
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        if "go.mod" in filenames and not os.path.islink(os.path.join(dirpath, "go.mod")):
            rel = os.path.relpath(dirpath, src)
            gomod_dirs.add(rel)
            module, _ = read_gomod(os.path.join(dirpath, "go.mod"))
            # Debian keeps a /vN module at the path without /vN (GOPATH's layout) or with it.
            if module and (module == rel or re.fullmatch(re.escape(rel) + r"/v\d+", module)):
                mods[module] = (rel, True)
            if module and module != rel and re.fullmatch(re.escape(rel) + r"/v\d+", module):
                # ... and GOPATH builds resolve the path without /vN to that code too, which is
                # how Debian built the packages that import it so: served under both paths.
                aliases[rel] = rel
    # Go files no go.mod covers: per Debian package, their deepest common directory is a module.
    def covered(rel):
        d = os.path.dirname(rel)
        while d:
            if d in gomod_dirs:
                return True
            d = os.path.dirname(d)
        return False
    orphans = {}
    for rel, (pkg, _) in owner.items():
        if rel.endswith(".go") and not covered(rel):
            orphans.setdefault(pkg, []).append(os.path.dirname(rel))
    for pkg, dirs in sorted(orphans.items()):
        root = os.path.commonpath(dirs)
        if root.count("/") < 1:
            die(f"{pkg}: its Go files without a go.mod share no module root ({root!r})")
        if root in mods:
            continue
        mods[root] = (root, False)
    for path, rel in sorted(aliases.items()):
        if path in mods:
            log(f"note: {path} is a module of its own; the /vN module in {rel} is not served under it too")
        else:
            mods[path] = (rel, True)
    # A module root nested in another go.mod-less module root: both stay, the inner one is cut
    # out of the outer one's files only if it has a go.mod (as go does); report the others.
    roots = sorted({r for r, _ in mods.values()})
    for a in roots:
        for b in roots:
            if b != a and b.startswith(a + "/") and not os.path.isfile(os.path.join(src, b, "go.mod")):
                log(f"note: {b} (no go.mod) lies inside the module in {a}: its files are in both")
    return [(m, r, g) for m, (r, g) in sorted(mods.items())]


def owning_package(root, owner):
    counts = {}
    for rel, pv in owner.items():
        if rel.startswith(root + "/"):
            counts[pv] = counts.get(pv, 0) + 1
    if not counts:
        die(f"{root}: no Debian package owns a file there")
    return max(sorted(counts), key=lambda pv: counts[pv])


def read_programs(path):
    progs = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split("|")
        if len(f) != 7:
            die(f"{path}: want 7 '|'-separated fields, got {len(f)}: {line}")
        progs.append(dict(zip(["name", "module", "main", "editA", "editB", "editBtext", "smoke"], f)))
    return progs


def main():
    if len(sys.argv) != 5:
        die("usage: mkproxy.py ROOT DEBS OUT PROGRAMS")
    root, debs, out, programs = sys.argv[1:]
    src = os.path.join(root, "usr/share/gocode/src")
    owner = deb_index(debs)
    mods = find_modules(src, owner)
    proxy = os.path.join(out, "proxy")
    os.makedirs(proxy, exist_ok=True)
    progs = read_programs(programs)
    table = []
    seen_paths = {}
    for module, rel, has_gomod in mods:
        pkg, debver = owning_package(rel, owner)
        version = go_version(debver, module, has_gomod)
        if module in seen_paths:
            die(f"module {module} found twice: {seen_paths[module]} and {rel}")
        seen_paths[module] = rel
        table.append((module, version, f"{pkg}={debver}", rel))
        files, skipped = module_files(os.path.join(src, rel))
        for f, why in skipped:
            log(f"{module}: left out {f}: {why}")
        go = read_gomod(os.path.join(src, rel, "go.mod"))[1] if has_gomod else None
        gomod = cut_gomod(module, go) if has_gomod else None
        d = os.path.join(proxy, escape(module), "@v")
        os.makedirs(d, exist_ok=True)
        ev = escape(version)
        write_zip(os.path.join(d, ev + ".zip"), f"{module}@{version}", files, gomod)
        with open(os.path.join(d, ev + ".mod"), "w") as f:
            f.write(gomod if gomod is not None else f"module {module}\n")
        info = json.dumps({"Version": version, "Time": pseudo_time(version)}) + "\n"
        with open(os.path.join(d, ev + ".info"), "w") as f:
            f.write(info)
        with open(os.path.join(d, "list"), "w") as f:
            f.write("" if is_pseudo(version) else version + "\n")
        with open(os.path.join(proxy, escape(module), "@latest"), "w") as f:
            f.write(info)
    with open(os.path.join(out, "modules.tsv"), "w") as f:
        f.write("# module\tversion\tdebian package\tsource directory (under /usr/share/gocode/src)\n")
        for row in table:
            f.write("\t".join(row) + "\n")
    log(f"{len(table)} modules in {proxy}")
    # The programs: their main module's tree, go.mod cut, no go.sum.
    by_path = {m: r for m, r, _ in mods}
    for p in progs:
        if p["module"] not in by_path:
            die(f"program {p['name']}: module {p['module']} is not in the extracted packages")
        rel = by_path[p["module"]]
        dest = os.path.join(out, "programs", p["name"])
        files, skipped = module_files(os.path.join(src, rel))
        for f, why in skipped:
            log(f"{p['name']}: left out {f}: {why}")
        for r, full in files:
            if r in ("go.mod", "go.sum"):
                continue
            os.makedirs(os.path.dirname(os.path.join(dest, r)), exist_ok=True)
            with open(full, "rb") as i, open(os.path.join(dest, r), "wb") as o:
                o.write(i.read())
        go = read_gomod(os.path.join(src, rel, "go.mod"))[1]
        with open(os.path.join(dest, "go.mod"), "w") as f:
            f.write(cut_gomod(p["module"], go))
        log(f"program {p['name']}: {len(files)} files from {rel}")


if __name__ == "__main__":
    main()
