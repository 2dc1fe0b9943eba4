/*
 * store_redis_stub.c - stands in for store_redis.c until the Redis
 * backend is merged: Redis is never wanted.  Delete this file when
 * store_redis.c arrives.
 */
#include "store_redis.h"

#include "err.h"

bool eotp_store_redis_wanted(const struct eotp_cfg *cfg)
{
    (void)cfg;
    return false;
}

int eotp_store_redis_open(const struct eotp_cfg *cfg,
                          const struct eotp_logger *lg,
                          struct eotp_store **out)
{
    (void)cfg;
    (void)lg;
    *out = NULL;
    return EOTP_E_CONFIG;
}
