#!/bin/bash
# Runs once, when a replica's data directory is first initialised
# (docker-entrypoint-initdb.d): follow the primary by GTID auto-positioning,
# from its first transaction, and refuse writes from the application.
set -euo pipefail

mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '${MYSQL_SOURCE_HOST}',
  SOURCE_PORT = 3306,
  SOURCE_USER = 'repl',
  SOURCE_PASSWORD = '${MYSQL_REPLICATION_PASSWORD}',
  SOURCE_AUTO_POSITION = 1,
  SOURCE_CONNECT_RETRY = 5,
  GET_SOURCE_PUBLIC_KEY = 1;
START REPLICA;
SET PERSIST read_only = ON;
SQL
