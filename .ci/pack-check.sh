#!/usr/bin/env bash
# Installs relaylab as a user would, outside this repository: packs every package, installs the
# tarballs into a new project in a temporary folder, then follows the READMEs there. The topology
# and the scenario come from packages/cli/README.md, jest's set-up and test from
# packages/jest/README.md, so what they show is what is checked. @relaylab/* comes only from the
# tarballs (their scope's registry is an address that refuses connections); third-party packages
# come from the npm registry.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
log="$work/step.log"
trap 'rm -rf "$work"' EXIT
offline_scope=(--@relaylab:registry=http://127.0.0.1:9/)

current=''
started_all=$(date +%s%N)
fail() {
  echo "pack-check: FAILED: $current${1:+: $1}" >&2
  [ -s "$log" ] && { echo "--- output of that step ---" >&2; tail -n 80 "$log" >&2; }
  exit 1
}
trap 'fail' ERR
# step <title> <command...>: runs the command with its output in $log, and prints its time
step() {
  current="$1"
  shift
  local t0=$(date +%s%N)
  "$@" >"$log" 2>&1 || fail "exit code $?"
  printf '%-62s %6.1f s\n' "$current" "$(( ($(date +%s%N) - t0) / 1000000 ))e-3"
}

# write_blocks <readme> <dir> <file…>: writes each fenced block of the README whose first line
# names one of the files (`# topologies/x.yaml`, `// jest.config.js`) under <dir>
write_blocks() {
  node - "$@" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [readme, dir, ...wanted] = process.argv.slice(2);
const blocks = new Map();
for (const m of fs.readFileSync(readme, 'utf8').matchAll(/^```\w*\n((?:#|\/\/) (\S+)\n[\s\S]*?)^```$/gm)) blocks.set(m[2], m[1]);
for (const name of wanted) {
  if (!blocks.has(name)) throw new Error(`${readme} has no code block starting "# ${name}" or "// ${name}"`);
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), blocks.get(name));
}
EOF
}

tarballs="$work/tarballs"
project="$work/project"
mkdir -p "$tarballs" "$project"

step 'build (tsc -b)' bash -c "cd '$repo' && npx tsc -b"
step 'npm pack every package' bash -c "cd '$repo' && npm pack --workspaces --pack-destination '$tarballs'"
ls "$tarballs"/relaylab-{core,pki,mta,lab,report,cli,jest}-*.tgz >/dev/null || fail 'a package has no tarball'

# A user's project depends on the CLI and the jest package; the overrides make the packages they
# depend on the tarballs made above.
node -e '
const fs = require("node:fs");
const [dir, out] = process.argv.slice(1);
const overrides = {};
for (const f of fs.readdirSync(dir)) {
  const name = /^relaylab-(.+)-\d[^-]*\.tgz$/.exec(f)[1];
  if (name !== "cli" && name !== "jest") overrides[`@relaylab/${name}`] = `file:${dir}/${f}`;
}
fs.writeFileSync(out, JSON.stringify({ name: "my-mail-flow", version: "1.0.0", private: true, overrides }, null, 2));
' "$tarballs" "$project/package.json"
cd "$project"
# as packages/jest/README.md says, with the two @relaylab packages from their tarballs
step 'npm install (tarballs; jest, ts-jest, typescript, @types/*)' \
  npm install --save-dev --no-audit --no-fund --prefer-offline "${offline_scope[@]}" \
  "$tarballs"/relaylab-cli-*.tgz "$tarballs"/relaylab-jest-*.tgz jest ts-jest typescript @types/jest @types/node

check_installed() {
  local where
  for p in core pki mta lab report cli jest; do
    where="$(node -p "require.resolve('@relaylab/$p')")"
    case "$where" in "$project"/node_modules/*) ;; *) echo "@relaylab/$p resolves to $where, not inside the project"; return 1 ;; esac
  done
  test -f node_modules/@relaylab/lab/schemas/scenario.schema.json || { echo 'no schemas in @relaylab/lab'; return 1; }
  test -f node_modules/@relaylab/cli/LICENSE || { echo 'no LICENSE in @relaylab/cli'; return 1; }
}
step 'every @relaylab package resolves inside the project' check_installed

step 'write topology and scenario (cli README)' write_blocks "$repo/packages/cli/README.md" "$project" topologies/partner-tls.yaml scenarios/partner-tls.yaml
step 'write jest config, tsconfig and test (jest README)' write_blocks "$repo/packages/jest/README.md" "$project" jest.config.js tsconfig.json contoso-mail-flow.test.ts

version_matches() {
  local want got
  want="$(node -p "require('$repo/packages/cli/package.json').version")"
  got="$(npx --no -- relaylab --version)" || return 1
  echo "relaylab --version: $got"
  [ "$got" = "$want" ] || { echo "expected $want"; return 1; }
}
step 'npx relaylab --version' version_matches

run_scenario() {
  env -u RELAYLAB_CERTS npx --no -- relaylab run scenarios/partner-tls.yaml || return 1
  grep -q '^1 passed, 0 failed$' "$log" || { echo 'no "1 passed, 0 failed" line'; return 1; }
}
step 'npx relaylab run scenarios/partner-tls.yaml' run_scenario

# drive spawns `relaylab node` and `relaylab dns` from the installed package's own bin/; the
# ports sit below Linux's ephemeral range, apart from the defaults a running lab may hold
run_drive() {
  env -u RELAYLAB_CERTS npx --no -- relaylab drive scenarios/partner-tls.yaml --port 17525 --control-port 17526 --dns 127.0.0.53:17527 || return 1
  grep -q '^1 passed, 0 failed$' "$log" || { echo 'no "1 passed, 0 failed" line'; return 1; }
}
step 'npx relaylab drive (one process per node)' run_drive

run_jest() {
  npx --no -- jest --ci || return 1
  grep -Eq '^Tests: +2 passed, 2 total' "$log" || { echo 'jest did not run the 2 tests of the README'; return 1; }
}
step 'npx jest (the README test)' run_jest

current=''
printf '%-62s %6.1f s\n' 'pack-check passed, in total' "$(( ($(date +%s%N) - started_all) / 1000000 ))e-3"
