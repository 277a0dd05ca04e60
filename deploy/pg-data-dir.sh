# Sourced by deploy/services.sh and tests/fault/run.sh: where a PostgreSQL cluster's data directory goes.
# As root, PostgreSQL runs as the 'postgres' system user, which must be able to reach its data directory. A
# checkout under a directory only root may enter (`mktemp -d` makes such ones) gets its cluster under /var/tmp
# instead, at a path derived from the one asked for, so every script finds the same cluster again.
pg_data_dir() { # wanted-path
  local want="$1" parent
  if [ "$(id -u)" != 0 ]; then echo "$want"; return; fi
  parent="$(dirname "$want")"; mkdir -p "$parent"
  if runuser -u postgres -- test -x "$parent" 2>/dev/null; then echo "$want"; return; fi
  mkdir -p /var/tmp/affiliatetracker-pg && chmod 755 /var/tmp/affiliatetracker-pg
  echo "/var/tmp/affiliatetracker-pg/$(printf %s "$want" | sha1sum | cut -c1-16)"
}
