#!/usr/bin/env bash
# Makes sure a MySQL-compatible server answers for the tests.
#
# - ATCC_TEST_MYSQL_DSN set: that server is used as is; nothing is started.
# - Otherwise the tests use root with an empty password on 127.0.0.1:3306. If nothing answers
#   there, this script starts the installed MariaDB, or installs it with apt when running as
#   root, and makes root@127.0.0.1 usable without a password. If it cannot, it says what to do
#   and exits 1.
set -euo pipefail

if [ -n "${ATCC_TEST_MYSQL_DSN:-}" ]; then
  echo "ensure-mariadb: using ATCC_TEST_MYSQL_DSN"
  exit 0
fi

host=127.0.0.1
port=3306

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

client() {
  if command -v mariadb >/dev/null 2>&1; then echo mariadb; elif command -v mysql >/dev/null 2>&1; then echo mysql; fi
}

tcp_login_ok() {
  local c; c=$(client)
  [ -n "$c" ] || return 0 # no client to check with: leave it to the tests
  "$c" --protocol=tcp -h "$host" -P "$port" -uroot -e 'SELECT 1' >/dev/null 2>&1
}

wait_for_port() {
  for _ in $(seq 1 60); do
    port_open && return 0
    sleep 0.5
  done
  return 1
}

fail() {
  cat >&2 <<MSG
ensure-mariadb: $1
The tests need a MySQL-compatible server (MariaDB 10.6+ or MySQL 8).
Either start MariaDB on $host:$port with a root user that has an empty password
(Debian/Ubuntu: sudo apt-get install -y mariadb-server && sudo service mariadb start),
or point the tests at your own server:
  ATCC_TEST_MYSQL_DSN='user:password@tcp(host:3306)/' make test
MSG
  exit 1
}

start_server() {
  local daemon=""
  for d in /usr/sbin/mariadbd /usr/sbin/mysqld; do
    [ -x "$d" ] && daemon=$d && break
  done
  [ -n "$daemon" ] || return 1
  if [ "$(id -u)" = 0 ]; then
    install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ] && command -v mariadb-install-db >/dev/null 2>&1; then
      mariadb-install-db --user=mysql >/dev/null
    fi
  fi
  echo "ensure-mariadb: starting $daemon"
  if command -v start-stop-daemon >/dev/null 2>&1; then
    start-stop-daemon --start --oknodo --background --exec "$daemon" -- --user=mysql >/dev/null 2>&1 || true
  else
    nohup "$daemon" --user=mysql >/tmp/atcc-mariadb.log 2>&1 &
  fi
  wait_for_port
}

install_server() {
  [ "$(id -u)" = 0 ] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "ensure-mariadb: installing mariadb-server with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq mariadb-server mariadb-client >/dev/null
}

grant_root_tcp() {
  # A fresh Debian MariaDB lets root in only through the unix socket. Allow the
  # empty-password TCP login the tests use; only ever done by root, via the socket.
  [ "$(id -u)" = 0 ] || return 1
  local c; c=$(client)
  [ -n "$c" ] || return 1
  "$c" -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
FLUSH PRIVILEGES;
SQL
}

if ! port_open; then
  start_server || { install_server && start_server; } || fail "nothing answers on $host:$port and MariaDB could not be started or installed."
fi
if ! tcp_login_ok; then
  grant_root_tcp || true
  tcp_login_ok || fail "a server answers on $host:$port, but root with an empty password cannot log in."
fi
echo "ensure-mariadb: server ready on $host:$port"
