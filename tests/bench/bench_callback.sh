#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_callback.sh - the callback receiver's figures of make bench
# (issue 14).  Not a test (not executable: make check does not run it).
#
#   1. signed callbacks per second, keep-alive, BENCH_CB_THREADS (4)
#      connections, one status row each, on the Redis store (TLS + ACL, on
#      loopback) and on the file store (state_dir, a file per message id
#      under flock, fsync'ed)
#   2. the receiver's RSS over BENCH_CB_LONG (1,000,000) callbacks on
#      Redis: after a 10,000 warm-up, and at the end
#   3. the nonce cache bound (its size and entries, from the start line)
#
# Knobs: BENCH_CB_N (100,000 per rate run), BENCH_CB_FILE_N (20,000),
# BENCH_CB_LONG, BENCH_CB_THREADS.  Needs root and redis-server.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/callback/cblib.sh"
. "$TESTS_DIR/redis/redisenv.sh"
N=${BENCH_CB_N:-100000}
FILE_N=${BENCH_CB_FILE_N:-20000}
LONG=${BENCH_CB_LONG:-1000000}
TH=${BENCH_CB_THREADS:-4}
CLIENT="$BUILD/tests/bench_callback"
SUMMARY=${BENCH_SUMMARY:-$BUILD/bench-summary.txt}
say() { printf '%s\n' "$1" | tee -a "$SUMMARY"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$CB_PID/status"; }
port() { local p=${CB_URL#http://127.0.0.1:}; echo "${p%/callback}"; }

[ -x "$CLIENT" ] || { echo "build it first: make bench-programs" >&2; exit 1; }
redis_start main || { echo "redis-server did not start" >&2; exit 1; }
# A 60 s window: 1,000,000 callbacks at over 5,000/s stay under the
# nonce cache's bound (688,128 live entries / 60 s = 11,468/s).
REDIS_KEYS=("redis_url=$(redis_url main)" "redis_ca_file=$T/redis-certs/ca.pem"
            "redis_required=yes" "callback_max_age=60")

say "## callback receiver ($(nproc) CPUs, $TH keep-alive connections)"
cb_start "${REDIS_KEYS[@]}" || { cat "$CB_LOG"; exit 1; }
say "start: $(grep -o 'nonce_cache=[0-9]*' "$CB_LOG") entries (16 MiB table, allocated and touched at start)"
say "redis store: $("$CLIENT" "$(port)" "$N" "$TH" 10000 "$CB_USER" "$T/cb_secret")"
cb_stop

cb_start "callback_max_age=60" || { cat "$CB_LOG"; exit 1; }
say "file store:  $("$CLIENT" "$(port)" "$FILE_N" "$TH" 1000 "$CB_USER" "$T/cb_secret")"
cb_stop

# The long run in 5 parts, the RSS after each.
cb_start "${REDIS_KEYS[@]}" || { cat "$CB_LOG"; exit 1; }
"$CLIENT" "$(port)" 10000 "$TH" 10000 "$CB_USER" "$T/cb_secret" >/dev/null
rss_line="RSS (kB) after a 10,000 warm-up: $(rss)"
for part in 1 2 3 4 5; do
    out=$("$CLIENT" "$(port)" $((LONG / 5)) "$TH" 10000 "$CB_USER" "$T/cb_secret")
    say "long run (redis), part $part of 5: $out"
    rss_line="$rss_line, +$((LONG * part / 5)): $(rss)"
done
say "$rss_line"
cb_stop
