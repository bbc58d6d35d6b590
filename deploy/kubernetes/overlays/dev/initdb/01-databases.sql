-- Runs once, when the postgres container initialises an empty data volume
-- (docker-compose.scale.yml mounts this folder at /docker-entrypoint-initdb.d).
-- One database per service with a store: each service runs its own migrations, and two
-- migration histories must not share one database.
CREATE DATABASE controller OWNER skein;
CREATE DATABASE scheduler OWNER skein;
