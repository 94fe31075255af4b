#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL server:   tests/with-postgres.sh CMD [ARGS...]
#
# The server comes from Debian's packages (tests/setup.sh installs `postgresql`), with its data
# in a fresh temporary directory, listening on 127.0.0.1 only (a free port) and on a unix socket
# in that directory; password authentication (scram) for TCP. CMD runs with
# DEVICEFLOW_TEST_POSTGRES set to the server's URL; the server is stopped and its data removed
# when CMD ends, whatever happens. Nothing outside the machine is involved.
# As root, the server runs as the `postgres` user the package creates (initdb refuses root).
# fsync is off: test data need not survive a power cut.
set -euo pipefail

if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  # The same install as tests/setup.sh's, so this script also works on its own.
  echo "with-postgres: apt-get install postgresql" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql >/dev/null
fi
initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1)
bin=$(dirname "$initdb")

work=$(mktemp -d "${TMPDIR:-/tmp}/deviceflow-pg.XXXXXX")
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$work"
  as_pg=(runuser -u postgres --)
fi
stop() {
  if [ -f "$work/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
      "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" > "$work/pwfile"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$work/pwfile"
"${as_pg[@]}" "$bin/initdb" -D "$work/data" -U deviceflow --pwfile="$work/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; exit 1; }
rm -f "$work/pwfile"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if ! "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$work \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
      -c shared_buffers=128MB" start >/dev/null; then
  cat "$work/server.log" >&2
  exit 1
fi
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $work)" >&2

export DEVICEFLOW_TEST_POSTGRES="postgres://deviceflow:$password@127.0.0.1:$port/postgres"
status=0
"$@" || status=$?
exit "$status"
