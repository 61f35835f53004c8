# The official image's first-start contract: a cluster made with POSTGRES_USER (postgres)
# and POSTGRES_PASSWORD, a database POSTGRES_DB (the user's name), password logins over TCP.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
bin=/usr/lib/postgresql/17/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /run/postgresql/pwfile
  chown postgres /run/postgresql/pwfile
  as_postgres "$bin/initdb" -D "$PGDATA" -U "$user" --encoding=UTF8 --locale=C.UTF-8 --pwfile=/run/postgresql/pwfile --auth-local=trust --auth-host=scram-sha-256
  rm /run/postgresql/pwfile
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$database" != postgres ]; then
    as_postgres "$bin/psql" -U "$user" -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$database\""
  fi
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
