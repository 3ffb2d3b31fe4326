#!/usr/bin/env bash
# CI: the README's compose run (docker-compose.yml) on a real Docker engine, as root on a Debian
# machine where no image registry is reachable and no traffic may leave the machine.
#
#   1. the base image the Dockerfile names (FROM node:20-bookworm-slim) is built here, cached:
#      mmdebstrap --variant=minbase of that Debian release + Node from the npm registry;
#   2. relaylab:local is built from the users' Dockerfile by a Docker daemon in this host's own
#      network namespace, so `npm ci` in the build reaches the registry (--network host);
#   3. the compose file runs on a second daemon, started inside a network namespace of its own
#      (relaylab-ci, loopback only): the `lab` bridge and its 172.30.0.0/16 exist only there.
# Neither daemon creates a bridge, an iptables rule or a forwarding setting in this host's
# namespace (--bridge=none --iptables=false --ip-forward=false --ip-masq=false). Every daemon
# started here is stopped by its PID, and the namespace deleted, however the run ends.
set -euo pipefail

PACKAGES=(docker.io docker-compose mmdebstrap iproute2)
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  # policy-rc.d keeps the packages' own services from starting: Debian's docker.service would
  # put docker0 and NAT rules into this host's namespace, which this script must never do.
  policy_rc_d=
  [[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_rc_d=1; }
  export DEBIAN_FRONTEND=noninteractive
  installed=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || installed=$?
  [[ -z $policy_rc_d ]] || rm -f /usr/sbin/policy-rc.d
  ((installed == 0)) || exit "$installed"
fi

cd "$(dirname "$0")/.."
REPO=$PWD
NETNS=relaylab-ci
STATE=${RELAYLAB_CI_STATE:-/var/lib/relaylab-ci} # image store and caches, kept between runs
RUN=/run/relaylab-ci                              # sockets, pid files, logs of this run
# Debian's client (20.10) builds with the daemon's own BuildKit; a newer client elsewhere on
# PATH would want a buildx plugin that this machine does not have.
DOCKER_CLI=/usr/bin/docker
export COMPOSE_PROJECT_NAME=relaylab-ci

say() { printf '[compose-ci] %s\n' "$*"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1f s", b - a }'; }
started=$(date +%s.%N)
step_started=$started
step_name=
step() { # ends the current step with its time, starts the next
  [[ -z $step_name ]] || say "$(printf '%-56s' "$step_name") $(since "$step_started")"
  step_name=$1
  step_started=$(date +%s.%N)
}

declare -A PIDS=() # name -> PID of each daemon this script started

stop_pid() { # name: SIGTERM, up to 20 s, then SIGKILL
  local name=$1 pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "$name ($pid) did not stop in 20 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[$1]'
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ -n ${PIDS[dockerd-run]:-} && -z ${compose_down:-} ]]; then
    DOCKER_HOST=unix://$RUN/dockerd-run.sock timeout 60 docker-compose -f "$REPO/docker-compose.yml" down -v --remove-orphans --timeout 5 >"$RUN/compose-down.log" 2>&1 ||
      say "docker-compose down failed (see below)"
  fi
  stop_pid dockerd-run
  stop_pid dockerd-build
  stop_pid containerd
  # A container shim outlives containerd only when a container was left running; its PID file says which.
  for f in "$RUN"/containerd/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  ip netns del "$NETNS" 2>/dev/null
  # The services' own logs, when the runner failed (a failed build or daemon shows its own).
  [[ $status == 0 || ! -s $RUN/compose.log ]] || { say "--- the services' last log lines"; cat "$RUN/compose.log"; }
  rm -rf "$RUN"
  step ""
  say "$(printf '%-56s' total) $(since "$started")"
  ((status)) && say "FAILED (exit $status)" || say "passed"
  exit "$status"
}
# Leftovers of a run that was killed (kill -9 leaves no trap): nothing of ours may still run,
# and this check comes before the trap, whose cleanup would otherwise pull that run's namespace.
for f in "$RUN"/*.pid; do
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && { say "a previous run is still active ($f); stop it first"; exit 1; }
done
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns del "$NETNS" 2>/dev/null || true
rm -rf "$RUN"
mkdir -p "$RUN" "$STATE"

step "network namespace $NETNS (loopback only)"
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
# nsenter, not `ip netns exec`: that remounts /sys for the namespace and dockerd then finds no cgroups.
in_netns=(nsenter "--net=/run/netns/$NETNS")

wait_for() { # name probe...: until the probe succeeds, while the daemon lives, for up to 30 s
  local name=$1
  shift
  for _ in $(seq 300); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[$name]}" 2>/dev/null || { say "$name exited while starting:"; tail -n 20 "$RUN/$name.log"; return 1; }
    sleep 0.1
  done
  say "$name did not answer within 30 s:"
  tail -n 20 "$RUN/$name.log"
  return 1
}

step "containerd"
# One containerd for both daemons, with its own root, state and socket (no system containerd).
cat >"$RUN/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUN/containerd.sock"
[ttrpc]
  address = "$RUN/containerd.sock.ttrpc"
EOF
"${in_netns[@]}" containerd --config "$RUN/containerd.toml" >"$RUN/containerd.log" 2>&1 &
PIDS[containerd]=$!
echo "${PIDS[containerd]}" >"$RUN/containerd.pid"
wait_for containerd test -S "$RUN/containerd.sock"

start_dockerd() { # name [prefix...]: a daemon on the shared image store, its own exec root and socket
  local name=$1
  shift
  "$@" dockerd \
    --data-root "$STATE/docker" --exec-root "$RUN/$name" --pidfile "$RUN/$name.pid" \
    -H "unix://$RUN/$name.sock" --containerd "$RUN/containerd.sock" \
    --iptables=false --bridge=none --ip-forward=false --ip-masq=false \
    >"$RUN/$name.log" 2>&1 &
  PIDS[$name]=$! # nsenter execs dockerd: this is dockerd's own PID
  wait_for "$name" "$DOCKER_CLI" -H "unix://$RUN/$name.sock" version
}

step "dockerd for the build (host network, no bridge)"
start_dockerd dockerd-build
build_docker() { "$DOCKER_CLI" -H "unix://$RUN/dockerd-build.sock" "$@"; }

# The base image: the Dockerfile's FROM, made here because no registry is reachable.
base=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
[[ $base =~ ^node:([0-9]+)-([a-z]+)-slim$ ]] || { say "Dockerfile: FROM $base is not node:<major>-<debian release>-slim"; exit 1; }
node_major=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
if build_docker image inspect "$base" >/dev/null 2>&1; then
  step "base image $base (cached)"
else
  step "base image $base: Node $node_major from npm"
  case $(dpkg --print-architecture) in amd64) node_arch=x64 ;; arm64) node_arch=arm64 ;; *) say "no Node package for $(dpkg --print-architecture)"; exit 1 ;; esac
  mkdir -p "$RUN/node"
  # node-linux-<arch> carries the official Node binary; npm comes as its own package, as in Node's image.
  (cd "$RUN/node" && npm pack --silent "node-linux-$node_arch@$node_major" "npm@10" >/dev/null)
  node_tgz=$(ls "$RUN"/node/node-linux-*.tgz)
  npm_tgz=$(ls "$RUN"/node/npm-*.tgz)
  step "base image $base: mmdebstrap $suite minbase + import"
  # Node's image keeps no documentation either; it only makes the image and the import slower.
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="tar -xzf '$node_tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin package/include package/share" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c "node --version && npm --version" >&2' \
    "$suite" - http://deb.debian.org/debian |
    build_docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' - "$base" >/dev/null
fi

step "docker build relaylab:local (npm ci over host network)"
# The users' Dockerfile, with one CI-only difference: `npm ci` also trusts this machine's CA
# bundle, for CI machines whose HTTPS egress passes a proxy with its own CA. It is handed in as
# a BuildKit secret, mounted for that one RUN only: the certificates are in no layer of the
# image (its history shows the command, not them). Users build the Dockerfile as it is, also
# with compose v1's legacy builder, which knows no RUN --mount: hence the mount is added here.
cat /etc/ssl/certs/ca-certificates.crt >"$RUN/ca.pem"
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS && $NODE_EXTRA_CA_CERTS != /etc/ssl/certs/ca-certificates.crt ]]; then
  cat "$NODE_EXTRA_CA_CERTS" >>"$RUN/ca.pem"
fi
sed 's|^RUN npm ci |RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci |' Dockerfile >"$RUN/Dockerfile.ci"
[[ $(diff Dockerfile "$RUN/Dockerfile.ci" | grep -c '^>') == 1 ]] || { say "Dockerfile: expected one 'RUN npm ci ...' line to give the CA to"; exit 1; }
DOCKER_BUILDKIT=1 build_docker build --network host --progress plain --secret "id=ca,src=$RUN/ca.pem" \
  -f "$RUN/Dockerfile.ci" -t relaylab:local . >"$RUN/build.log" 2>&1 || { tail -n 40 "$RUN/build.log"; exit 1; }

step "stop the build daemon"
stop_pid dockerd-build

step "dockerd for the run (inside $NETNS)"
start_dockerd dockerd-run "${in_netns[@]}"
export DOCKER_HOST=unix://$RUN/dockerd-run.sock

step "docker-compose run --rm runner"
# `run` starts certs, dns and the nodes (depends_on), streams the runner's output and returns
# its exit code; `up --exit-code-from runner` in compose v1 would stop at the one-shot certs.
set +e
docker-compose -f docker-compose.yml run --rm runner
code=$?
set -e
((code == 0)) || { say "the runner exited $code"; docker-compose -f docker-compose.yml logs --no-color --tail 40 >"$RUN/compose.log" 2>&1; exit "$code"; }

step "docker-compose down"
docker-compose -f docker-compose.yml down -v --remove-orphans --timeout 5 >"$RUN/compose-down.log" 2>&1
compose_down=1
