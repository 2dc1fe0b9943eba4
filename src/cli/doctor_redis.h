/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_redis.h - the Redis checks of "doctor" (issue 13), one function
 * so that cmd_doctor.c only has to call it.
 */
#ifndef EOTP_DOCTOR_REDIS_H
#define EOTP_DOCTOR_REDIS_H

#include "../core/cfg.h"
#include "../core/log.h"

#include <stdio.h>

/*
 * When redis_url or redis_sentinels is set: print one line per check to
 * out, "OK  redis: ...", "WARN redis: <what>: <how to fix it>" or "FAIL
 * redis: <what>: <how to fix it>" (fleet key; the client certificate of
 * redis_tls_cert, WARN when it expires within 14 days; connect, TLS and
 * AUTH; role; script load; probe keys written with a TTL, read and
 * deleted through every command of the script; latency) and return the
 * number of failed checks (a WARN is not one).  Prints nothing and
 * returns 0 when Redis is not configured.
 */
int eotp_doctor_redis(const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                      FILE *out);

#endif
