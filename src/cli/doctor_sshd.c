/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_sshd.c - sshd's settings for doctor's PAM stack check: read from
 * --sshd-config, else "sshd -T", else /etc/ssh/sshd_config (Include
 * followed, the first value of a keyword wins, reading stops at the
 * first Match block), with sshd's defaults for keywords not given.
 */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define SSHD_PATH "/usr/sbin/sshd"
#define SSHD_CONFIG "/etc/ssh/sshd_config"

static void sshd_set(struct eotp_sshd_settings *s, const char *key,
                     const char *value)
{
    bool yes = strcasecmp(value, "yes") == 0;

    if (strcasecmp(key, "usepam") == 0 && !s->have_usepam) {
        s->usepam = yes;
        s->have_usepam = true;
    } else if ((strcasecmp(key, "kbdinteractiveauthentication") == 0 ||
                strcasecmp(key, "challengeresponseauthentication") == 0) &&
               !s->have_kbdint) {
        s->kbdint = yes;
        s->have_kbdint = true;
    } else if (strcasecmp(key, "passwordauthentication") == 0 &&
               !s->have_password) {
        s->password = yes;
        s->have_password = true;
    } else if (strcasecmp(key, "authenticationmethods") == 0 &&
               !s->have_authmethods) {
        (void)snprintf(s->authmethods, sizeof(s->authmethods), "%s", value);
        s->have_authmethods = true;
    }
}

static void sshd_parse_file(struct eotp_sshd_settings *s, const char *path,
                            int depth);

/*
 * sshd_config text: "Keyword value" or "Keyword=value", the first value
 * wins (as in sshd); Include is followed (relative to /etc/ssh, glob
 * patterns, 4 levels deep); reading stops at the first Match block.
 * Also reads "sshd -T" output (lowercase keywords, no Include).
 */
static void sshd_parse(struct eotp_sshd_settings *s, char *text, int depth)
{
    char *line = text;

    while (line != NULL && *line != '\0' && !s->stopped) {
        char *next = strchr(line, '\n');
        char key[64];
        size_t n = 0;
        char *p;
        char *e;

        if (next != NULL) {
            *next++ = '\0';
        }
        p = eotp_doc_skip_ws(line);
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '=' &&
               n + 1 < sizeof(key)) {
            key[n++] = *p++;
        }
        key[n] = '\0';
        p = eotp_doc_skip_ws(p);
        if (*p == '=') {
            p = eotp_doc_skip_ws(p + 1);
        }
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
            *--e = '\0';
        }
        if (key[0] != '\0' && key[0] != '#') {
            if (strcasecmp(key, "match") == 0) {
                s->stopped = true;
                break;
            }
            if (strcasecmp(key, "include") == 0) {
                char pat[1024];

                while (*p != '\0') {
                    glob_t gl;
                    char rel[1100];
                    const char *g = pat;

                    p = eotp_doc_next_token(p, pat, sizeof(pat));
                    if (pat[0] == '\0') {
                        break;
                    }
                    if (pat[0] != '/') {
                        (void)snprintf(rel, sizeof(rel), "/etc/ssh/%s", pat);
                        g = rel;
                    }
                    if (glob(g, 0, NULL, &gl) == 0) {
                        for (size_t i = 0; i < gl.gl_pathc; i++) {
                            sshd_parse_file(s, gl.gl_pathv[i], depth + 1);
                        }
                        globfree(&gl);
                    }
                }
            } else {
                sshd_set(s, key, p);
            }
        }
        line = next;
    }
}

static void sshd_parse_file(struct eotp_sshd_settings *s, const char *path,
                            int depth)
{
    FILE *f;
    char *text;
    size_t n;

    if (depth > 4) {
        return;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    text = malloc(256 * 1024 + 1);
    if (text != NULL) {
        n = fread(text, 1, 256 * 1024, f);
        text[n] = '\0';
        sshd_parse(s, text, depth);
        free(text);
        if (depth == 0) {
            s->read = true;
        }
    }
    (void)fclose(f);
}

/* Output of "sshd -T" (at most max bytes) into *out; 0 on success. */
static int run_sshd_t(char **out, size_t max)
{
    int fds[2];
    pid_t pid;
    char *buf;
    size_t n = 0;
    int status = 0;

    if (access(SSHD_PATH, X_OK) != 0 || pipe(fds) != 0) {
        return -1;
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        (void)close(fds[0]);
        (void)close(fds[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        free(buf);
        (void)close(fds[0]);
        (void)close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        char *const argv[] = {(char *)(uintptr_t) "sshd",
                              (char *)(uintptr_t) "-T", NULL};

        (void)dup2(fds[1], 1);
        if (devnull >= 0) {
            (void)dup2(devnull, 0);
            (void)dup2(devnull, 2);
        }
        (void)close(fds[0]);
        execv(SSHD_PATH, argv);
        _exit(127);
    }
    (void)close(fds[1]);
    for (;;) {
        ssize_t got = read(fds[0], buf + n, max - n);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0 || (n += (size_t)got) == max) {
            break;
        }
    }
    (void)close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    buf[n] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

void eotp_doc_sshd_read(const struct eotp_doctor *d,
                        struct eotp_sshd_settings *s)
{
    char *text = NULL;
    const char *file = d->sshd_config;

    memset(s, 0, sizeof(*s));
    s->usepam = false; /* sshd's built-in defaults */
    s->kbdint = true;
    s->password = true;
    (void)snprintf(s->authmethods, sizeof(s->authmethods), "any");
    if (file == NULL && run_sshd_t(&text, 256 * 1024) == 0) {
        (void)snprintf(s->source, sizeof(s->source), "sshd -T");
        sshd_parse(s, text, 0);
        free(text);
        s->read = true;
        return;
    }
    if (file == NULL) {
        file = SSHD_CONFIG; /* sshd -T failed (no host keys, ...) */
    }
    eotp_sanitize(s->source, sizeof(s->source), file, false);
    sshd_parse_file(s, file, 0);
}

/* Does every list of AuthenticationMethods name publickey? */
bool eotp_doc_sshd_key_first(const struct eotp_sshd_settings *s)
{
    const char *cur = s->authmethods;
    char list[256];
    bool any = false;

    if (strcmp(s->authmethods, "any") == 0) {
        return false;
    }
    /* Lists are separated by spaces, methods within one by commas. */
    while (*cur != '\0') {
        size_t n = 0;

        while (*cur == ' ' || *cur == '\t') {
            cur++;
        }
        if (*cur == '\0') {
            break;
        }
        while (*cur != '\0' && *cur != ' ' && *cur != '\t') {
            if (n + 1 < sizeof(list)) {
                list[n++] = *cur;
            }
            cur++;
        }
        list[n] = '\0';
        any = true;
        if (strstr(list, "publickey") == NULL) {
            return false;
        }
    }
    return any;
}

static bool sshd_allows_password(const struct eotp_sshd_settings *s)
{
    return s->password && (strcmp(s->authmethods, "any") == 0 ||
                           strstr(s->authmethods, "password") != NULL);
}

void eotp_doc_check_sshd(struct eotp_doctor *d,
                         const struct eotp_sshd_settings *s, bool skips_code)
{
    bool any = false;

    if (!s->read) {
        eotp_doctor_report(d, "sshd", EOTP_DOC_SKIP, NULL,
                           "sshd settings: not checked (%s could not be "
                           "read; give --sshd-config FILE)",
                           s->source);
        return;
    }
    if (!s->usepam) {
        any = true;
        eotp_doctor_report(d, "sshd", EOTP_DOC_WARN,
                           "set UsePAM yes in sshd_config",
                           "sshd (%s): UsePAM no: sshd never runs the PAM "
                           "stack, so no code is asked for",
                           s->source);
    }
    if (!s->kbdint) {
        any = true;
        eotp_doctor_report(d, "sshd", EOTP_DOC_WARN,
                           "set KbdInteractiveAuthentication yes in "
                           "sshd_config (and AuthenticationMethods "
                           "publickey,keyboard-interactive)",
                           "sshd (%s): KbdInteractiveAuthentication no: the "
                           "code prompt is never shown over SSH",
                           s->source);
    }
    if (sshd_allows_password(s)) {
        any = true;
        if (skips_code) {
            eotp_doctor_report(
                d, "sshd", EOTP_DOC_WARN,
                "set PasswordAuthentication no and use keyboard-interactive; "
                "fix the stack (see above)",
                "sshd (%s): PasswordAuthentication yes with a stack that "
                "skips the code: sshd's password method answers the code "
                "prompt with the password, the module refuses it, and the "
                "stack still lets the login in",
                s->source);
        } else {
            eotp_doctor_report(
                d, "sshd", EOTP_DOC_WARN,
                "set PasswordAuthentication no and use keyboard-interactive",
                "sshd (%s): PasswordAuthentication yes: sshd's password "
                "method answers the code prompt with the password, so those "
                "logins fail (and a password of digits is checked as a "
                "code)",
                s->source);
        }
    }
    if (!any) {
        eotp_doctor_report(d, "sshd", EOTP_DOC_OK, NULL,
                           "sshd (%s): UsePAM yes, keyboard-interactive on, "
                           "no password method; AuthenticationMethods %s",
                           s->source, s->authmethods);
    }
}
