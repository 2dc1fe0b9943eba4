#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_store_redis.sh - the backend-agnostic store cases
# (tests/unit/test_store.c) against the Redis backend: starts a TLS+ACL
# redis-server and runs build/tests/test_store with EOTP_TEST_REDIS_URL
# and EOTP_TEST_REDIS_CA set (its "redis" row opens a store with a fleet
# key of its own for each case; without the variables the row is
# skipped).
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
TS="$BUILD/tests/test_store"
. "$TESTS_DIR/redis/redisenv.sh"
redis_start main || { t_fail "redis-server starts"; t_summary; exit; }
out=$(EOTP_TEST_REDIS_URL=$(redis_url main) EOTP_TEST_REDIS_CA="$T/redis-certs/ca.pem" \
    timeout 300 "$TS" 2>&1)
rc=$?
assert_eq "test_store: every case on file and redis" 0 "$rc"
assert_match "... the redis row ran" ' on redis' "$out"
assert_no_match "... no case failed" 'FAILED' "$out"
t_summary
