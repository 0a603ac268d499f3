-- Runs once when the postgres container initialises its volume.
-- Owner role (migrations) and runtime role (the app: no superuser, no BYPASSRLS, not owner).
CREATE ROLE architect_owner LOGIN PASSWORD 'owner' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE architect_app LOGIN PASSWORD 'app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE architect_studio OWNER architect_owner;
