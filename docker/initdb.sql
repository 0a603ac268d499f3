-- Runs once when the postgres container initialises its volume.
-- Owner role (migrations only), runtime role (the app: no superuser, no BYPASSRLS, not owner)
-- and operator role (cross-tenant admin/sweepers: BYPASSRLS, owns nothing, no superuser).
CREATE ROLE architect_owner LOGIN PASSWORD 'owner' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE architect_app LOGIN PASSWORD 'app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE architect_operator LOGIN PASSWORD 'operator' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE architect_studio OWNER architect_owner;
