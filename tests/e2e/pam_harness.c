/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_harness - drive the real libpam through a service file in a
 * private directory (pam_start_confdir) with a scripted conversation.
 *
 *   pam_harness --confdir DIR --service NAME --user USER [--rhost HOST]
 *               [--authtok TOK] [--env K=V]... [--outbox FILE --to DEST]
 *               [--repeat N] [--silent] -- ANSWER...
 *
 * Each prompt consumes the next ANSWER.  Special answers:
 *   @code      the latest code the mock delivered to DEST (read from the
 *              outbox, as a phone would)
 *   @wrong     a code of the same shape that is certainly wrong
 *   @fail      the conversation fails (PAM_CONV_ERR)
 *   @cmd:CMD   run CMD with /bin/sh, then take the next answer
 * Output lines: "PROMPT: ...", "INFO: ...", "ERROR: ...", "SYSLOG: ..."
 * (pam_syslog is caught in this process) and "RESULT: PAM_xxx".
 */
#include <cjson/cJSON.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static char **answers;
static int nanswers;
static int next_answer;
static const char *outbox;
static const char *dest;

/* pam_syslog() ends in glibc's fortified syslog; catch it here. */
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
    va_list ap;

    (void)flag;
    printf("SYSLOG: <%d> ", pri & LOG_PRIMASK);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

#undef syslog /* a fortify macro with some compilers */
void syslog(int pri, const char *fmt, ...)
{
    va_list ap;

    printf("SYSLOG: <%d> ", pri & LOG_PRIMASK);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    size_t n;
    char chunk[8192];

    if (f == NULL) {
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            char *nb;

            cap = (len + n + 1) * 2;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

/*
 * The code of the last outbox line delivered to dest.  Lines are parsed
 * from the end, so the cost does not grow with the outbox: a phone reads
 * the newest message, not the history.
 */
static char *latest_code(void)
{
    char *text;
    char *found = NULL;
    size_t end;

    if (outbox == NULL || dest == NULL) {
        return NULL;
    }
    text = read_file(outbox);
    if (text == NULL) {
        return NULL;
    }
    end = strlen(text);
    while (end > 0 && found == NULL) {
        size_t start = end;
        cJSON *j;
        const cJSON *to;
        const cJSON *code;

        while (start > 0 && text[start - 1] != '\n') {
            start--;
        }
        j = cJSON_ParseWithLength(text + start, end - start);
        to = cJSON_GetObjectItemCaseSensitive(j, "to");
        code = cJSON_GetObjectItemCaseSensitive(j, "code");
        if (cJSON_IsString(to) && strcmp(to->valuestring, dest) == 0 &&
            cJSON_IsString(code)) {
            found = strdup(code->valuestring);
        }
        cJSON_Delete(j);
        end = start > 0 ? start - 1 : 0;
    }
    free(text);
    return found;
}

static char *wrong_code(void)
{
    char *c = latest_code();

    if (c == NULL) {
        return strdup("000000");
    }
    for (char *p = c; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            *p = (char)('0' + (*p - '0' + 1) % 10);
        } else if (*p >= 'a' && *p <= 'z') {
            *p = (char)('a' + (*p - 'a' + 1) % 26);
        } else if (*p >= 'A' && *p <= 'Z') {
            *p = (char)('A' + (*p - 'A' + 1) % 26);
        }
    }
    return c;
}

/* Next answer, or NULL for a conversation failure. */
static char *take_answer(void)
{
    while (next_answer < nanswers) {
        const char *a = answers[next_answer++];

        if (strncmp(a, "@cmd:", 5) == 0) {
            fflush(stdout);
            if (system(a + 5) != 0) {
                fprintf(stderr, "pam_harness: command failed: %s\n", a + 5);
            }
            continue;
        }
        if (strcmp(a, "@fail") == 0) {
            return NULL;
        }
        if (strcmp(a, "@code") == 0) {
            return latest_code();
        }
        if (strcmp(a, "@wrong") == 0) {
            return wrong_code();
        }
        return strdup(a);
    }
    return NULL;
}

static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *appdata)
{
    struct pam_response *r = calloc((size_t)n, sizeof(*r));

    (void)appdata;
    if (r == NULL) {
        return PAM_BUF_ERR;
    }
    for (int i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            printf("PROMPT: %s\n", msg[i]->msg);
            fflush(stdout);
            r[i].resp = take_answer();
            if (r[i].resp == NULL) {
                for (int k = 0; k < i; k++) {
                    free(r[k].resp);
                }
                free(r);
                return PAM_CONV_ERR;
            }
            break;
        case PAM_ERROR_MSG:
            printf("ERROR: %s\n", msg[i]->msg);
            break;
        case PAM_TEXT_INFO:
            printf("INFO: %s\n", msg[i]->msg);
            break;
        default:
            break;
        }
    }
    fflush(stdout);
    *resp = r;
    return PAM_SUCCESS;
}

static const char *pam_name(int rc)
{
    static const struct {
        int rc;
        const char *name;
    } names[] = {
        {PAM_SUCCESS, "PAM_SUCCESS"},
        {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
        {PAM_MAXTRIES, "PAM_MAXTRIES"},
        {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
        {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
        {PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
        {PAM_CONV_ERR, "PAM_CONV_ERR"},
        {PAM_IGNORE, "PAM_IGNORE"},
        {PAM_BUF_ERR, "PAM_BUF_ERR"},
        {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
        {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
        {PAM_INCOMPLETE, "PAM_INCOMPLETE"},
        {PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT"},
        {PAM_ABORT, "PAM_ABORT"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].rc == rc) {
            return names[i].name;
        }
    }
    return "PAM_OTHER";
}

static void usage(void)
{
    fprintf(stderr,
            "usage: pam_harness --confdir DIR --service NAME --user USER "
            "[--rhost H] [--authtok T] [--env K=V] [--outbox F --to D] "
            "[--repeat N] [--silent] -- ANSWER...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *confdir = NULL;
    const char *service = NULL;
    const char *user = NULL;
    const char *rhost = NULL;
    const char *authtok = NULL;
    const char *envs[16];
    int nenv = 0;
    long repeat = 1;
    int flags = 0;
    int i;
    int rc = PAM_SUCCESS;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc && strcmp(argv[i], "--silent") != 0) {
            usage();
        }
        if (strcmp(argv[i], "--confdir") == 0) {
            confdir = argv[++i];
        } else if (strcmp(argv[i], "--service") == 0) {
            service = argv[++i];
        } else if (strcmp(argv[i], "--user") == 0) {
            user = argv[++i];
        } else if (strcmp(argv[i], "--rhost") == 0) {
            rhost = argv[++i];
        } else if (strcmp(argv[i], "--authtok") == 0) {
            authtok = argv[++i];
        } else if (strcmp(argv[i], "--env") == 0 && nenv < 16) {
            envs[nenv++] = argv[++i];
        } else if (strcmp(argv[i], "--outbox") == 0) {
            outbox = argv[++i];
        } else if (strcmp(argv[i], "--to") == 0) {
            dest = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0) {
            repeat = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--silent") == 0) {
            flags |= PAM_SILENT;
        } else {
            usage();
        }
    }
    if (confdir == NULL || service == NULL || user == NULL || repeat < 1) {
        usage();
    }
    answers = argv + i;
    nanswers = argc - i;

    for (long round = 0; round < repeat; round++) {
        struct pam_conv pc = {conv, NULL};
        pam_handle_t *pamh = NULL;

        next_answer = 0;
        rc = pam_start_confdir(service, user, &pc, confdir, &pamh);
        if (rc != PAM_SUCCESS) {
            printf("RESULT: pam_start failed %s\n", pam_name(rc));
            return 2;
        }
        if (rhost != NULL) {
            (void)pam_set_item(pamh, PAM_RHOST, rhost);
        }
        if (authtok != NULL) {
            (void)pam_set_item(pamh, PAM_AUTHTOK, authtok);
        }
        for (int e = 0; e < nenv; e++) {
            (void)pam_putenv(pamh, envs[e]);
        }
        rc = pam_authenticate(pamh, flags);
        if (repeat == 1 || rc != PAM_SUCCESS) {
            printf("RESULT: %s\n", pam_name(rc));
        }
        if (rc == PAM_SUCCESS) {
            int sc = pam_setcred(pamh, PAM_ESTABLISH_CRED);

            if (repeat == 1 || sc != PAM_SUCCESS) {
                printf("SETCRED: %s\n", pam_name(sc));
            }
        }
        pam_end(pamh, rc);
        fflush(stdout);
        if (rc != PAM_SUCCESS && repeat > 1) {
            return 1;
        }
    }
    if (repeat > 1) {
        printf("RESULT: %s x%ld\n", pam_name(rc), repeat);
    }
    return 0;
}
