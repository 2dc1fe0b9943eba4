/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_calls.h - the two HTTPS calls of a login with bare libcurl, shared
 * by curl_floor (a plain program) and floor_module.so (a bare PAM module):
 * the floors the login benchmark measures the module against.
 */
#ifndef FLOOR_CALLS_H
#define FLOOR_CALLS_H

#include <curl/curl.h>
#include <stddef.h>

/* A handle with the module's TLS settings: https only, TLS >= 1.2, peer
 * and host verified against ca, no proxy, no signals, basic auth. */
CURL *floor_handle(const char *ca, const char *userpwd,
                   struct curl_slist **hdrs);

/* POST /v1/messages (template tpl to to); the message id into msgid. */
int floor_send(CURL *c, const char *base, const char *to, const char *tpl,
               char *msgid, size_t len);

/* POST /v1/verifications; 0 when the answer says verified. */
int floor_verify(CURL *c, const char *base, const char *msgid,
                 const char *code);

#endif
