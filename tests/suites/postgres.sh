#!/usr/bin/env bash
# The server on PostgreSQL, against a throwaway PostgreSQL server (tests/with-postgres.sh: Debian's
# package, 127.0.0.1 only, its data in a temp dir, stopped and removed at the end even on failure):
#  * the whole server test suite, with the engine tests and the server vectors on the memory
#    store, SQLite and PostgreSQL at once (tests/engine/mirror.rs), the PostgreSQL store's own
#    tests (tests/postgres.rs) and three instances on one database over HTTP
#    (tests/multi_instance.rs);
#  * `deviceflow serve --database postgres://…` twice behind a forwarder, one killed with SIGKILL
#    mid-login, the login completing through the other (cli/tests/serve_postgres.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec tests/with-postgres.sh bash -c '
  set -euo pipefail
  cargo test -p deviceflow-server --locked
  cargo test -p deviceflow-cli --locked --test serve_postgres
'
