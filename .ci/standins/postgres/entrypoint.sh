#!/bin/sh
# The first start makes the cluster, the user and the database; every start serves on 5432.
set -eu
mkdir -p "$PGDATA" && chown postgres "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/password && chown postgres /tmp/password
	su postgres -c "initdb -D '$PGDATA' -U '$POSTGRES_USER' --pwfile=/tmp/password --auth=scram-sha-256" >/dev/null
	rm /tmp/password
	echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
	if [ "${POSTGRES_DB:-$POSTGRES_USER}" != postgres ]; then
		su postgres -c "postgres --single -D '$PGDATA' postgres" <<SQL >/dev/null
CREATE DATABASE "${POSTGRES_DB:-$POSTGRES_USER}" OWNER "$POSTGRES_USER";
SQL
	fi
fi
exec su postgres -c "postgres -D '$PGDATA' -c listen_addresses='*'"
