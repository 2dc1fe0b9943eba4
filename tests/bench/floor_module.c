/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_module.so - the PAM floor for the login benchmark: a bare PAM
 * module making the same two HTTPS calls as the real one, with bare
 * libcurl and nothing else (no config file, no user lookup, no map, no
 * state, no logging).  Loaded by the same harness through the same libpam,
 * it measures what any libcurl PAM module costs, so that the benchmark can
 * tell libpam's share of a login from the module's own.  Never install it.
 *
 *   auth required floor_module.so url=BASE ca=CA key=KEY secret=SECRET
 *                                 to=DEST template=ID
 */
#include "floor_calls.h"

#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arg(int argc, const char **argv, const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') {
            return argv[i] + n + 1;
        }
    }
    return NULL;
}

static char *ask(pam_handle_t *pamh)
{
    const struct pam_conv *conv = NULL;
    struct pam_message msg = {PAM_PROMPT_ECHO_OFF, "Code: "};
    const struct pam_message *pmsg = &msg;
    struct pam_response *resp = NULL;
    char *answer;

    if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS ||
        conv == NULL || conv->conv == NULL ||
        conv->conv(1, &pmsg, &resp, conv->appdata_ptr) != PAM_SUCCESS ||
        resp == NULL) {
        return NULL;
    }
    answer = resp->resp;
    free(resp);
    return answer;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                        const char **argv)
{
    const char *url = arg(argc, argv, "url");
    const char *ca = arg(argc, argv, "ca");
    const char *key = arg(argc, argv, "key");
    const char *secret = arg(argc, argv, "secret");
    const char *to = arg(argc, argv, "to");
    const char *tpl = arg(argc, argv, "template");
    struct curl_slist *hdrs = NULL;
    char userpwd[512];
    char msgid[128];
    char *code = NULL;
    CURL *c;
    int r = PAM_AUTH_ERR;

    (void)flags;
    if (url == NULL || ca == NULL || key == NULL || secret == NULL ||
        to == NULL || tpl == NULL ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return PAM_SERVICE_ERR;
    }
    snprintf(userpwd, sizeof(userpwd), "%s:%s", key, secret);
    c = floor_handle(ca, userpwd, &hdrs);
    if (c != NULL && floor_send(c, url, to, tpl, msgid, sizeof(msgid)) == 0 &&
        (code = ask(pamh)) != NULL && floor_verify(c, url, msgid, code) == 0) {
        r = PAM_SUCCESS;
    }
    free(code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return r;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
