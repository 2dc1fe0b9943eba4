/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_redis.h - the Redis backend of store.h, provided by store_redis.c
 * (issue 13).  Until that file is merged, store_redis_stub.c provides
 * both functions (no Redis configured, ever); delete the stub then.
 */
#ifndef EOTP_STORE_REDIS_H
#define EOTP_STORE_REDIS_H

#include "cfg.h"
#include "log.h"
#include "store.h"

#include <stdbool.h>

/* Does cfg ask for Redis (redis_url or redis_sentinels set)? */
bool eotp_store_redis_wanted(const struct eotp_cfg *cfg);

/*
 * Open the Redis store for cfg (called by eotp_store_open() when
 * eotp_store_redis_wanted()).  When Redis cannot be used it decides: log
 * one LOG_WARNING with the reason and return the file store
 * (eotp_store_file_open()), or, with redis_required, return an error
 * (the login then fails closed, PAM_AUTHINFO_UNAVAIL).  0 or EOTP_E_*.
 */
int eotp_store_redis_open(const struct eotp_cfg *cfg,
                          const struct eotp_logger *lg,
                          struct eotp_store **out);

#endif
