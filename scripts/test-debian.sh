#!/usr/bin/env bash
# The README's test line: installs the Debian programs the tests run as real clients, when any is
# missing, then runs `npm test`. Root runs apt-get itself; anyone else through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# package → a command it installs (the tests find each on PATH; see packages/mta/test/debian-tools.ts)
declare -A COMMAND=(
  [swaks]=swaks             # SMTP client that sends through the nodes
  [openssl]=openssl         # s_client, x509: the TLS the nodes offer
  [dnsutils]=dig            # queries the lab's DNS service
  [docker-compose]=docker-compose # validates docker-compose.yml (no engine is started)
  [chromium]=chromium       # renders the HTML report in the browser test
  [ca-certificates]=''      # for chromium and openssl; no command of its own
  [libnet-ssleay-perl]=''   # swaks --tls (a Recommends of swaks, so not there without recommends)
  [libio-socket-ssl-perl]=''
  [postfix]=''                # nodes with implementation: postfix (its programs are in /usr/sbin)
)

missing=()
for pkg in "${!COMMAND[@]}"; do
  cmd=${COMMAND[$pkg]}
  if [ -n "$cmd" ]; then command -v "$cmd" >/dev/null || missing+=("$pkg")
  else dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=()
  elif command -v sudo >/dev/null; then as_root=(sudo)
  else
    echo "test-debian.sh: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}), or run this script as root or with sudo available" >&2
    exit 1
  fi
  echo "test-debian.sh: installing ${missing[*]}" >&2
  "${as_root[@]}" apt-get update -qq
  install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq)
  # Postfix unconfigured: the system instance must not start and take port 25; the lab runs its own
  echo "postfix postfix/main_mailer_type select No configuration" | "${as_root[@]}" debconf-set-selections
  # chromium with its recommends (the fonts the report's diagrams are measured in); the rest
  # without (docker-compose would bring a whole Docker engine)
  others=()
  for pkg in "${missing[@]}"; do
    if [ "$pkg" = chromium ]; then "${install[@]}" chromium >/dev/null; else others+=("$pkg"); fi
  done
  if [ ${#others[@]} -gt 0 ]; then "${install[@]}" --no-install-recommends "${others[@]}" >/dev/null; fi
fi

exec npm test
