-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
-- One database per service: a service's event store, outbox, inbox and projections are its own,
-- and services share nothing but the bus. The owner is POSTGRES_USER (polku); per-service
-- roles with access to their own database only come with the security work.
CREATE DATABASE polku_intake;
CREATE DATABASE polku_pathway;
CREATE DATABASE polku_employer;
CREATE DATABASE polku_payroll_billing;
CREATE DATABASE polku_reporting;
