#!/usr/bin/env bash
# The README's examples and the crate docs' "first test" guide, verbatim, in a fresh crate
# that depends on this checkout by path and on nothing else: only the `cargo add` lines the
# README gives (with `--path` added), warnings denied. A doc-test cannot catch a missing
# dependency (the crate's own dev-dependencies are in scope there); this can.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd "$scratch"
cargo new --quiet --lib --vcs none readme_check
cd readme_check

# Every `cargo add unified-scheduler ...` of the README, in order, comments stripped.
mapfile -t adds < <(grep -o 'cargo add unified-scheduler[^`#]*' "$repo/README.md" | sed 's/ *$//')
((${#adds[@]})) || { echo "README.md names no 'cargo add unified-scheduler' line" >&2; exit 1; }
for add in "${adds[@]}"; do
  echo "+ $add --path $repo"
  # shellcheck disable=SC2086 # the line is split into words, as a shell would
  $add --path "$repo" --offline --quiet
done

# Each ```rust block of the README and of the crate docs (lib.rs's `//!` lines) becomes a
# #[test]; rustdoc's hidden `# ` lines are kept, unhidden, as rustdoc compiles them. A block
# of items with tests of its own (it starts with an attribute or `mod`) becomes a module.
mkdir -p tests
python3 - "$repo" > tests/readme.rs <<'PY'
import re, sys
repo = sys.argv[1]
def blocks(text, fence):
    return re.findall(r"^```" + fence + r"\n(.*?)^```", text, re.S | re.M)
readme = open(f"{repo}/README.md").read()
docs = "\n".join(line[4:] if line.startswith("//! ") else line[3:]
                 for line in open(f"{repo}/src/lib.rs").read().splitlines()
                 if line.startswith("//!"))
# In rustdoc a bare ``` block is Rust; in the README only ```rust is.
found = [("readme", b) for b in blocks(readme, "rust")]
found += [("crate_docs", b) for b in blocks(docs, "(?:rust)?")]
if not found:
    sys.exit("no ```rust blocks found")
for n, (where, body) in enumerate(found, 1):
    body = "\n".join(re.sub(r"^# ?", "", l) if re.match(r"^#( |$)", l) else l
                     for l in body.splitlines())
    if re.match(r"\s*(#\[|mod )", body):
        print(f"mod {where}_example_{n} {{\n{body}\n}}\n")
    else:
        print(f"#[test]\nfn {where}_example_{n}() {{\n{body}\n}}\n")
PY
echo "+ $(grep -c '^\(fn\|mod\) [a-z_]*_example_' tests/readme.rs) examples, in $(pwd)/tests/readme.rs"
RUSTFLAGS="-D warnings" cargo test --offline --quiet --test readme
