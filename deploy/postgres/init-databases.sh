#!/bin/sh
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
# One database per service, each owned by a role of that service alone: a service's event store,
# outbox, inbox and projections are its own, and services share nothing but the bus. PUBLIC may
# not connect, so no service's role can open another service's database.
# Passwords: POLKU_DB_PASSWORD_<SERVICE> (laptop defaults dev-<service>; set them anywhere else).
# POLKU_DB_PREFIX (default polku) names the databases and roles: <prefix>_<service>.
set -eu
prefix="${POLKU_DB_PREFIX:-polku}"
for service in intake pathway employer payroll_billing reporting; do
  variable="POLKU_DB_PASSWORD_$(echo "$service" | tr '[:lower:]' '[:upper:]')"
  password="$(printenv "$variable" || echo "dev-$service")"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v name="${prefix}_${service}" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
