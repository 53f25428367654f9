#!/bin/bash
# Runs once, when the primary's data directory is first initialised
# (docker-entrypoint-initdb.d). The replicas copy everything else through
# replication, from the first GTID on.
set -euo pipefail

mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
-- The replication account exists only here: replicas never need it.
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '${MYSQL_REPLICATION_PASSWORD}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
SET SESSION sql_log_bin = 1;

-- Binary-logged on purpose, so every replica has the database and the
-- application's account. REPLICATION CLIENT lets the app's router read
-- SHOW REPLICA STATUS (lag) on the replicas.
CREATE DATABASE IF NOT EXISTS animate CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}';
GRANT ALL PRIVILEGES ON animate.* TO '${MYSQL_USER}'@'%';
GRANT REPLICATION CLIENT ON *.* TO '${MYSQL_USER}'@'%';
SQL
