/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_state.c - the one Lua script behind fleet state, and how it is
 * called (see redis_state.h).
 */
#include "redis_state.h"

#include "err.h"
#include "keyed.h"
#include "safefile.h"
#include "secret.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS: the keys the steps name.  ARGV: six strings per step (op, key
 * index, a, b, c, cond).  Every check runs before any write, so a refused
 * step writes nothing; writes may depend on an earlier step's result;
 * times are the server's (TIME), the same for every host.  Event lists
 * are counted by window, never pruned below a week or 1000 events, and
 * their TTL is only ever extended, so a service with a shorter window
 * never erases what a stricter one counts.  Keep in step with
 * parse_reply() below and the ACL in the docs.
 */
static const char script[] =
    "#!lua\n"
    "-- pam_engagelab_otp fleet state, script v1.  KEYS: the keys the steps\n"
    "-- name.  ARGV: six strings per step: op, key index, a, b, c, cond.\n"
    "-- Phase 1 runs every check and read (a refusing take/check returns at\n"
    "-- once: nothing written); phase 2 runs the writes, each only when its\n"
    "-- cond (\"N=V\": step N's result was V) holds.  Times are the "
    "server's.\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local WEEK = 7 * 86400 * 1000\n"
    "local n = #ARGV / 6\n"
    "if n < 1 or n > 8 or n ~= math.floor(n) then\n"
    "  return redis.error_reply('ERR eotp: bad step list')\n"
    "end\n"
    "local function arg(i, j) return ARGV[(i - 1) * 6 + j] end\n"
    "local function num(s)\n"
    "  local v = tonumber(s)\n"
    "  if v == nil or v < 0 or v ~= math.floor(v) then error('eotp: bad "
    "number') end\n"
    "  return v\n"
    "end\n"
    "local function key(i)\n"
    "  local k = KEYS[num(arg(i, 2))]\n"
    "  if k == nil then error('eotp: bad key index') end\n"
    "  return k\n"
    "end\n"
    "-- events in the window (ms) and, when at limit, ms until one leaves\n"
    "local function window(k, limit, win)\n"
    "  local c = redis.call('ZCOUNT', k, '(' .. (now - win), '+inf')\n"
    "  if limit > 0 and c >= limit then\n"
    "    local old = redis.call('ZRANGEBYSCORE', k, '(' .. (now - win), "
    "'+inf',\n"
    "                           'WITHSCORES', 'LIMIT', c - limit, 1)\n"
    "    local w = tonumber(old[2]) + win - now\n"
    "    if w < 1 then w = 1 end\n"
    "    return c, w\n"
    "  end\n"
    "  return c, 0\n"
    "end\n"
    "-- a TTL is only ever extended, never shortened\n"
    "local function keep(k, ms)\n"
    "  local left = redis.call('PTTL', k)\n"
    "  if left < ms then redis.call('PEXPIRE', k, ms) end\n"
    "end\n"
    "local function event(k, member, win)\n"
    "  redis.call('ZADD', k, 'NX', now, member)\n"
    "  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - WEEK)\n"
    "  redis.call('ZREMRANGEBYRANK', k, 0, -1001)\n"
    "  keep(k, win)\n"
    "end\n"
    "local out = {'ok'}\n"
    "local lim_i, lim_w, lim_c = 0, 0, 0\n"
    "local function holds(i)\n"
    "  local cond = arg(i, 6)\n"
    "  if cond == '' then return true end\n"
    "  local s, v = string.match(cond, '^(%d+)=(.*)$')\n"
    "  return s ~= nil and tonumber(s) < i and tostring(out[tonumber(s) + 1]) "
    "== v\n"
    "end\n"
    "for i = 1, n do\n"
    "  local op, k = arg(i, 1), key(i)\n"
    "  if op == 'take' or op == 'check' then\n"
    "    if holds(i) then\n"
    "      local c, w = window(k, num(arg(i, 3)), num(arg(i, 4)))\n"
    "      if w > 0 and lim_i == 0 then lim_i, lim_w, lim_c = i, w, c end\n"
    "      out[i + 1] = c\n"
    "    else\n"
    "      out[i + 1] = -1\n"
    "    end\n"
    "  elseif op == 'count' then\n"
    "    out[i + 1] = window(k, 0, num(arg(i, 4)))\n"
    "  elseif op == 'lease' then\n"
    "    -- one login of a user at a time between begin and sent: a lease "
    "held\n"
    "    -- by another owner refuses like a limit, its TTL as the wait\n"
    "    if holds(i) then\n"
    "      local v = redis.call('GET', k)\n"
    "      if v and v ~= arg(i, 3) then\n"
    "        local w = redis.call('PTTL', k)\n"
    "        if w < 1 then w = 1 end\n"
    "        if lim_i == 0 then lim_i, lim_w, lim_c = i, w, 1 end\n"
    "      end\n"
    "      out[i + 1] = 0\n"
    "    else\n"
    "      out[i + 1] = -1\n"
    "    end\n"
    "  elseif op == 'once' then\n"
    "    -- 1 when the key is absent (and then written), else 0\n"
    "    if redis.call('EXISTS', k) == 0 then out[i + 1] = 1 else out[i + 1] "
    "= 0 end\n"
    "  elseif op == 'newer' then\n"
    "    -- 1 unless the key holds a 'w:ORDER:' value with a greater ORDER\n"
    "    local v = redis.call('GET', k)\n"
    "    local m = v and string.match(v, '^w:(%d+):')\n"
    "    if m and tonumber(m) > num(arg(i, 5)) then out[i + 1] = 0 else\n"
    "      out[i + 1] = 1 end\n"
    "  elseif op == 'get' then\n"
    "    out[i + 1] = redis.call('GET', k) or ''\n"
    "  elseif op == 'ttl' then\n"
    "    out[i + 1] = redis.call('PTTL', k)\n"
    "  elseif op == 'hget' then\n"
    "    out[i + 1] = redis.call('HGET', k, arg(i, 3)) or ''\n"
    "  elseif op == 'ccmp' then\n"
    "    -- a local code: \"msgid key mac channel created expires wrong\"\n"
    "    local v = redis.call('HGET', k, arg(i, 3))\n"
    "    local f = {}\n"
    "    if v then for w in string.gmatch(v, '%S+') do f[#f + 1] = w end end\n"
    "    if #f ~= 7 or (tonumber(f[6]) or 0) * 1000 <= now then\n"
    "      out[i + 1] = 'gone'\n"
    "    elseif redis.sha1hex(f[3]) == arg(i, 4) then\n"
    "      out[i + 1] = 'right'\n"
    "    else\n"
    "      out[i + 1] = 'wrong'\n"
    "    end\n"
    "  elseif op == 'cfind' then\n"
    "    -- the newest unexpired local code for key a, its mac left out\n"
    "    local all = redis.call('HGETALL', k)\n"
    "    local best, bestc = '', -1\n"
    "    for j = 1, #all, 2 do\n"
    "      local f = {}\n"
    "      for w in string.gmatch(all[j + 1], '%S+') do f[#f + 1] = w end\n"
    "      if #f == 7 and f[2] == arg(i, 3) and (tonumber(f[6]) or 0) * 1000 "
    "> now\n"
    "         and (tonumber(f[5]) or 0) > bestc then\n"
    "        bestc = tonumber(f[5])\n"
    "        best = all[j] .. ' ' .. f[1] .. ' ' .. f[2] .. ' ' .. f[4] .. ' "
    "' ..\n"
    "               f[5] .. ' ' .. f[6] .. ' ' .. f[7]\n"
    "      end\n"
    "    end\n"
    "    out[i + 1] = best\n"
    "  elseif op == 'add' or op == 'zrem' or op == 'set' or op == 'del' or\n"
    "         op == 'hput' or op == 'hdelv' or op == 'cput' or op == 'cwrong' "
    "or\n"
    "         op == 'cdel' or op == 'unlease' then\n"
    "    out[i + 1] = 0\n"
    "  else\n"
    "    return redis.error_reply('ERR eotp: unknown op')\n"
    "  end\n"
    "end\n"
    "for i = 1, n do\n"
    "  local op, k = arg(i, 1), key(i)\n"
    "  if lim_i == 0 and holds(i) then\n"
    "    if op == 'take' then\n"
    "      event(k, arg(i, 5), num(arg(i, 4)))\n"
    "      out[i + 1] = out[i + 1] + 1\n"
    "    elseif op == 'add' then\n"
    "      local win = num(arg(i, 4))\n"
    "      event(k, arg(i, 5), win)\n"
    "      local c, w = window(k, num(arg(i, 3)), win)\n"
    "      out[i + 1] = w\n"
    "    elseif op == 'zrem' then\n"
    "      out[i + 1] = redis.call('ZREM', k, arg(i, 3))\n"
    "    elseif op == 'set' then\n"
    "      local ms = num(arg(i, 4))\n"
    "      if ms < 1 then error('eotp: bad ttl') end\n"
    "      redis.call('SET', k, arg(i, 3), 'PX', ms)\n"
    "    elseif op == 'del' then\n"
    "      out[i + 1] = redis.call('DEL', k)\n"
    "    elseif op == 'hput' then\n"
    "      redis.call('HSET', k, arg(i, 3), arg(i, 5))\n"
    "      keep(k, num(arg(i, 4)))\n"
    "    elseif op == 'hdelv' then\n"
    "      -- fields whose value starts with the word a (a message id)\n"
    "      local all = redis.call('HGETALL', k)\n"
    "      local c = 0\n"
    "      for j = 1, #all, 2 do\n"
    "        if string.sub(all[j + 1], 1, #arg(i, 3) + 1) == arg(i, 3) .. ' ' "
    "then\n"
    "          c = c + redis.call('HDEL', k, all[j])\n"
    "        end\n"
    "      end\n"
    "      out[i + 1] = c\n"
    "    elseif op == 'cput' then\n"
    "      -- drop expired codes, keep at most 8, then add this one\n"
    "      local all = redis.call('HGETALL', k)\n"
    "      local live, oldest, oldc = 0, nil, nil\n"
    "      for j = 1, #all, 2 do\n"
    "        local f = {}\n"
    "        for w in string.gmatch(all[j + 1], '%S+') do f[#f + 1] = w end\n"
    "        if #f ~= 7 or (tonumber(f[6]) or 0) * 1000 <= now then\n"
    "          redis.call('HDEL', k, all[j])\n"
    "        else\n"
    "          live = live + 1\n"
    "          if oldc == nil or (tonumber(f[5]) or 0) < oldc then\n"
    "            oldest, oldc = all[j], tonumber(f[5]) or 0\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "      if live >= 8 then redis.call('HDEL', k, oldest) end\n"
    "      redis.call('HSET', k, arg(i, 3), arg(i, 5) .. ' 0')\n"
    "      keep(k, num(arg(i, 4)))\n"
    "    elseif op == 'cwrong' then\n"
    "      local v = redis.call('HGET', k, arg(i, 3))\n"
    "      local f = {}\n"
    "      if v then for w in string.gmatch(v, '%S+') do f[#f + 1] = w end "
    "end\n"
    "      if #f == 7 then\n"
    "        local w = (tonumber(f[7]) or 0) + 1\n"
    "        if w >= num(arg(i, 4)) then\n"
    "          redis.call('HDEL', k, arg(i, 3))\n"
    "        else\n"
    "          f[7] = tostring(w)\n"
    "          redis.call('HSET', k, arg(i, 3), table.concat(f, ' '))\n"
    "        end\n"
    "        out[i + 1] = w\n"
    "      end\n"
    "    elseif op == 'cdel' then\n"
    "      out[i + 1] = redis.call('HDEL', k, arg(i, 3))\n"
    "    elseif op == 'lease' then\n"
    "      redis.call('SET', k, arg(i, 3), 'PX', num(arg(i, 4)))\n"
    "    elseif op == 'newer' then\n"
    "      if out[i + 1] == 1 then\n"
    "        redis.call('SET', k, arg(i, 3), 'PX', num(arg(i, 4)))\n"
    "      end\n"
    "    elseif op == 'once' then\n"
    "      if out[i + 1] == 1 then\n"
    "        redis.call('SET', k, '1', 'PX', num(arg(i, 4)))\n"
    "      end\n"
    "    elseif op == 'unlease' then\n"
    "      if redis.call('GET', k) == arg(i, 3) then\n"
    "        out[i + 1] = redis.call('DEL', k)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local res = {'ok', lim_i, lim_w, lim_c}\n"
    "if lim_i > 0 then res[1] = 'limited' end\n"
    "for i = 1, n do res[#res + 1] = out[i + 1] end\n"
    "res[#res + 1] = now\n"
    "return res\n";

const char *eotp_rs_script(void)
{
    return script;
}

int eotp_rs_sha1hex(const char *text, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL) != 1 ||
        len != 20) {
        return EOTP_E_INTERNAL;
    }
    eotp_hex_encode(md, 20, out);
    return EOTP_OK;
}

int eotp_rs_script_sha(char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(script, sizeof(script) - 1, md, &len, EVP_sha1(), NULL) !=
            1 ||
        len != 20) {
        return EOTP_E_INTERNAL;
    }
    eotp_hex_encode(md, 20, out);
    return EOTP_OK;
}

#define KEYFILE_MIN 32
#define KEYFILE_MAX 4096

int eotp_rs_fleet_key(const struct eotp_cfg *cfg,
                      unsigned char key[EOTP_RS_KEY_LEN], char *why,
                      size_t whylen)
{
    static const char label[] = "pam_engagelab_otp fleet key v1";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int r = EOTP_E_INTERNAL;

    if (cfg->redis_key_file != NULL) {
        char reason[160];
        char *buf = NULL;
        size_t n = 0;

        r = eotp_safefile_read(cfg->redis_key_file, EOTP_SF_SECRET,
                               KEYFILE_MAX, &buf, &n, reason, sizeof(reason));
        if (r != EOTP_OK) {
            (void)snprintf(why, whylen, "redis_key_file refused: %s", reason);
            return EOTP_E_CONFIG;
        }
        if (n < KEYFILE_MIN) {
            (void)snprintf(why, whylen,
                           "redis_key_file holds fewer than %d bytes",
                           KEYFILE_MIN);
            r = EOTP_E_CONFIG;
        } else if (EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL) == 1 &&
                   len == EOTP_RS_KEY_LEN) {
            memcpy(key, md, EOTP_RS_KEY_LEN);
            r = EOTP_OK;
        } else {
            r = EOTP_E_INTERNAL;
        }
        eotp_freezero(buf, n + 1);
    } else if (cfg->dev_secret != NULL &&
               HMAC(EVP_sha256(), cfg->dev_secret,
                    (int)strlen(cfg->dev_secret), (const unsigned char *)label,
                    sizeof(label) - 1, md, &len) != NULL &&
               len == EOTP_RS_KEY_LEN) {
        memcpy(key, md, EOTP_RS_KEY_LEN);
        r = EOTP_OK;
    }
    eotp_memzero(md, sizeof(md));
    return r;
}

int eotp_rs_key(const unsigned char key[EOTP_RS_KEY_LEN], const char *kind,
                const char *const *part, size_t n, char out[EOTP_RS_NAME_MAX])
{
    const char *all[EOTP_RS_STEPS_MAX + 1];
    char hex[EOTP_KEYED_HEX];
    int r;

    if (strlen(kind) > 12 || n > EOTP_RS_STEPS_MAX) {
        return EOTP_E_INTERNAL;
    }
    all[0] = kind;
    for (size_t i = 0; i < n; i++) {
        all[i + 1] = part[i];
    }
    r = eotp_keyed_hash(key, all, n + 1, hex);
    if (r == EOTP_OK) {
        /* 128 bits name a key well enough and halve its size. */
        (void)snprintf(out, EOTP_RS_NAME_MAX, "eotp:v1:%s:%.32s", kind, hex);
    }
    eotp_memzero(hex, sizeof(hex));
    return r;
}

int eotp_rs_member(char out[EOTP_RS_MEMBER_HEX])
{
    unsigned char b[8];

    if (RAND_bytes(b, sizeof(b)) != 1) {
        return EOTP_E_INTERNAL;
    }
    eotp_hex_encode(b, sizeof(b), out);
    return EOTP_OK;
}

static const char *const op_names[] = {
    [EOTP_RS_TAKE] = "take",       [EOTP_RS_CHECK] = "check",
    [EOTP_RS_COUNT] = "count",     [EOTP_RS_ADD] = "add",
    [EOTP_RS_ZREM] = "zrem",       [EOTP_RS_GET] = "get",
    [EOTP_RS_TTL] = "ttl",         [EOTP_RS_SET] = "set",
    [EOTP_RS_DEL] = "del",         [EOTP_RS_HGET] = "hget",
    [EOTP_RS_HPUT] = "hput",       [EOTP_RS_HDELV] = "hdelv",
    [EOTP_RS_CFIND] = "cfind",     [EOTP_RS_CCMP] = "ccmp",
    [EOTP_RS_CPUT] = "cput",       [EOTP_RS_CWRONG] = "cwrong",
    [EOTP_RS_CDEL] = "cdel",       [EOTP_RS_LEASE] = "lease",
    [EOTP_RS_UNLEASE] = "unlease", [EOTP_RS_ONCE] = "once",
    [EOTP_RS_NEWER] = "newer",
};

static bool is_string_op(int op)
{
    return op == EOTP_RS_GET || op == EOTP_RS_HGET || op == EOTP_RS_CFIND ||
           op == EOTP_RS_CCMP;
}

static bool is_window_op(int op)
{
    return op == EOTP_RS_TAKE || op == EOTP_RS_CHECK || op == EOTP_RS_COUNT ||
           op == EOTP_RS_ADD;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* Check every element's type and range; a hostile reply is refused. */
static int parse_reply(const redisReply *rp, const struct eotp_rs_step *steps,
                       size_t n, struct eotp_rs_result *res)
{
    const redisReply *head;
    const redisReply *li;
    const redisReply *lw;

    if (rp->type != REDIS_REPLY_ARRAY || rp->elements != n + 5) {
        return EOTP_E_BAD_RESPONSE;
    }
    for (size_t i = 1; i < 4; i++) {
        if (rp->element[i]->type != REDIS_REPLY_INTEGER) {
            return EOTP_E_BAD_RESPONSE;
        }
    }
    head = rp->element[0];
    li = rp->element[1];
    lw = rp->element[2];
    if (head->type != REDIS_REPLY_STRING && head->type != REDIS_REPLY_STATUS) {
        return EOTP_E_BAD_RESPONSE;
    }
    if (strcmp(head->str, "limited") == 0) {
        if (li->integer < 1 || (size_t)li->integer > n ||
            (steps[li->integer - 1].op != EOTP_RS_TAKE &&
             steps[li->integer - 1].op != EOTP_RS_CHECK &&
             steps[li->integer - 1].op != EOTP_RS_LEASE) ||
            lw->integer < 1 ||
            lw->integer > (steps[li->integer - 1].op == EOTP_RS_LEASE
                               ? EOTP_RS_LEASE_MAX_MS
                               : steps[li->integer - 1].ms)) {
            return EOTP_E_BAD_RESPONSE;
        }
        res->limited = true;
        res->step = (size_t)(li->integer - 1);
        res->wait_ms = lw->integer;
    } else if (strcmp(head->str, "ok") != 0 || li->integer != 0 ||
               lw->integer != 0) {
        return EOTP_E_BAD_RESPONSE;
    }
    if (rp->element[n + 4]->type != REDIS_REPLY_INTEGER) {
        return EOTP_E_BAD_RESPONSE;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = rp->element[i + 4];

        if (is_string_op(steps[i].op)) {
            if (e->type != REDIS_REPLY_STRING || e->len >= EOTP_RS_VALUE_MAX ||
                !printable(e->str, e->len)) {
                return EOTP_E_BAD_RESPONSE;
            }
            memcpy(res->val[i], e->str, e->len);
            res->val[i][e->len] = '\0';
            if (steps[i].op == EOTP_RS_CCMP &&
                strcmp(res->val[i], "gone") != 0 &&
                strcmp(res->val[i], "right") != 0 &&
                strcmp(res->val[i], "wrong") != 0) {
                return EOTP_E_BAD_RESPONSE;
            }
        } else if (e->type != REDIS_REPLY_INTEGER || e->integer < -2 ||
                   (steps[i].op == EOTP_RS_ADD &&
                    (e->integer < 0 || e->integer > steps[i].ms))) {
            return EOTP_E_BAD_RESPONSE;
        } else {
            res->num[i] = e->integer;
        }
    }
    res->server_ms = rp->element[n + 4]->integer;
    return EOTP_OK;
}

enum rs_mode { RS_WAIT, RS_DEFER, RS_POST };

static int rs_call(struct eotp_redis *c, const struct eotp_rs_step *steps,
                   size_t n, struct eotp_rs_result *res, enum rs_mode mode,
                   char *why, size_t whylen)
{
    enum { ARGS_MAX = 3 + EOTP_RS_STEPS_MAX * 7 };
    const char *argv[ARGS_MAX];
    char idx[EOTP_RS_STEPS_MAX][8];
    char lim[EOTP_RS_STEPS_MAX][24];
    char ms[EOTP_RS_STEPS_MAX][24];
    char cond[EOTP_RS_STEPS_MAX][EOTP_RS_VALUE_MAX + 8];
    char ids[EOTP_RS_STEPS_MAX][EOTP_RS_MEMBER_HEX];
    char sha[41];
    char nkeys[8];
    struct eotp_redis_cmd cmd;
    redisReply *rp = NULL;
    int argc = 0;
    int r;

    memset(res, 0, sizeof(*res));
    if (n == 0 || n > EOTP_RS_STEPS_MAX || eotp_rs_script_sha(sha) != 0) {
        return EOTP_E_INTERNAL;
    }
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha;
    (void)snprintf(nkeys, sizeof(nkeys), "%zu", n);
    argv[argc++] = nkeys;
    for (size_t i = 0; i < n; i++) {
        const struct eotp_rs_step *st = &steps[i];
        bool needs_value = st->op == EOTP_RS_SET || st->op == EOTP_RS_ZREM ||
                           st->op == EOTP_RS_HGET || st->op == EOTP_RS_HPUT ||
                           st->op == EOTP_RS_HDELV ||
                           st->op == EOTP_RS_CFIND || st->op == EOTP_RS_CCMP ||
                           st->op == EOTP_RS_CPUT ||
                           st->op == EOTP_RS_CWRONG ||
                           st->op == EOTP_RS_CDEL || st->op == EOTP_RS_LEASE ||
                           st->op == EOTP_RS_UNLEASE ||
                           st->op == EOTP_RS_NEWER;
        bool needs_value2 = st->op == EOTP_RS_CCMP || st->op == EOTP_RS_HPUT ||
                            st->op == EOTP_RS_CPUT || st->op == EOTP_RS_NEWER;

        if (st->op < EOTP_RS_TAKE || st->op > EOTP_RS_NEWER ||
            (st->op == EOTP_RS_ONCE && st->ms <= 0) ||
            (st->op == EOTP_RS_LEASE &&
             (st->ms <= 0 || st->ms > EOTP_RS_LEASE_MAX_MS)) ||
            st->key == NULL || st->limit < 0 ||
            ((is_window_op(st->op) || st->op == EOTP_RS_SET ||
              st->op == EOTP_RS_HPUT || st->op == EOTP_RS_CPUT ||
              st->op == EOTP_RS_NEWER) &&
             st->ms <= 0) ||
            (needs_value && (st->value == NULL || st->value[0] == '\0' ||
                             strlen(st->value) >= EOTP_RS_VALUE_MAX)) ||
            (needs_value2 && (st->value2 == NULL || st->value2[0] == '\0' ||
                              strlen(st->value2) >= EOTP_RS_VALUE_MAX)) ||
            st->if_step < 0 || (size_t)st->if_step > i ||
            (st->if_step > 0 && st->if_value == NULL)) {
            return EOTP_E_INTERNAL;
        }
        argv[argc++] = st->key;
    }
    for (size_t i = 0; i < n; i++) {
        const struct eotp_rs_step *st = &steps[i];
        const char *v = st->value;

        if ((st->op == EOTP_RS_TAKE || st->op == EOTP_RS_ADD) && v == NULL) {
            if (eotp_rs_member(ids[i]) != EOTP_OK) {
                return EOTP_E_INTERNAL;
            }
            v = ids[i];
        }
        (void)snprintf(idx[i], sizeof(idx[i]), "%zu", i + 1);
        (void)snprintf(lim[i], sizeof(lim[i]), "%lld", st->limit);
        (void)snprintf(ms[i], sizeof(ms[i]), "%lld", st->ms > 0 ? st->ms : 0);
        cond[i][0] = '\0';
        if (st->if_step > 0) {
            (void)snprintf(cond[i], sizeof(cond[i]), "%d=%s", st->if_step,
                           st->if_value);
        }
        argv[argc++] = op_names[st->op];
        argv[argc++] = idx[i];
        if (is_window_op(st->op)) {
            argv[argc++] = lim[i];
            argv[argc++] = ms[i];
            argv[argc++] = v != NULL ? v : "";
        } else if (st->op == EOTP_RS_CWRONG) {
            argv[argc++] = v;
            argv[argc++] = lim[i];
            argv[argc++] = "";
        } else if (st->op == EOTP_RS_CCMP) {
            argv[argc++] = v;
            argv[argc++] = st->value2;
            argv[argc++] = "";
        } else {
            argv[argc++] = v != NULL ? v : "";
            argv[argc++] = ms[i];
            argv[argc++] = st->value2 != NULL ? st->value2 : "";
        }
        argv[argc++] = cond[i];
    }
    cmd.argc = argc;
    cmd.argv = argv;
    cmd.argvlen = NULL;
    if (mode != RS_WAIT) {
        /* The script is loaded: an earlier call on this connection ran. */
        r = mode == RS_POST ? eotp_redis_post(c, &cmd, 1, why, whylen)
                            : eotp_redis_send(c, &cmd, 1, why, whylen);
        eotp_memzero(cond, sizeof(cond));
        return r;
    }
    r = eotp_redis_exec(c, &cmd, 1, &rp, why, whylen);
    if (r == EOTP_OK && rp->type == REDIS_REPLY_ERROR && rp->str != NULL &&
        strncmp(rp->str, "NOSCRIPT", 8) == 0) {
        /* First use on this server (or after a restart): send the text. */
        eotp_redis_reply_free(rp);
        rp = NULL;
        argv[0] = "EVAL";
        argv[1] = script;
        r = eotp_redis_exec(c, &cmd, 1, &rp, why, whylen);
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (rp->type == REDIS_REPLY_ERROR) {
        char safe[EOTP_FIELD_MAX];

        (void)snprintf(why, whylen, "script refused by the server: %s",
                       eotp_sanitize(safe, sizeof(safe), rp->str, false));
        r = EOTP_E_SERVER;
    } else {
        r = parse_reply(rp, steps, n, res);
        if (r != EOTP_OK) {
            memset(res, 0, sizeof(*res));
            (void)snprintf(why, whylen, "script reply of the wrong shape");
        }
    }
    eotp_redis_reply_free(rp);
    eotp_memzero(cond, sizeof(cond));
    return r;
}

int eotp_rs_run(struct eotp_redis *c, const struct eotp_rs_step *steps,
                size_t n, struct eotp_rs_result *res, char *why, size_t whylen)
{
    return rs_call(c, steps, n, res, RS_WAIT, why, whylen);
}

int eotp_rs_send(struct eotp_redis *c, const struct eotp_rs_step *steps,
                 size_t n, char *why, size_t whylen)
{
    struct eotp_rs_result res;

    return rs_call(c, steps, n, &res, RS_DEFER, why, whylen);
}

int eotp_rs_post(struct eotp_redis *c, const struct eotp_rs_step *steps,
                 size_t n, char *why, size_t whylen)
{
    struct eotp_rs_result res;

    return rs_call(c, steps, n, &res, RS_POST, why, whylen);
}
