/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_login - drive full logins through libpam and the module for the
 * benchmarks (tests/bench/run-bench.sh); not a test.
 *
 *   bench_login --confdir DIR --service NAME --outbox FILE
 *               (--user U --to DEST | --user-prefix P --to-prefix D)
 *               [--threads N] [--repeat R] [--warmup W]
 *
 * --threads N: N threads start together (after a barrier), thread i logs
 * in as P<i> with destination D<i> (zero-padded to 3 digits), R times.
 * Without --threads: one thread, user U, R logins in this one process;
 * the RSS is read after the first login, after the first W and right after
 * the last one, in the thread that logs in; the bench's own arrays are allocated and
 * touched before the first login, so the growth is the module's and
 * libpam's alone.
 * The conversation answers each prompt with the code the mock delivered
 * to the thread's destination (read incrementally from the outbox).
 * Output: one "key=value ..." line (logins, ok, failed, wall_ms,
 * median_ms, min_ms, max_ms, rss_first_kb, rss_warm_kb, rss_end_kb,
 * hwm_kb).
 * syslog() is caught here (-rdynamic), as in the test harness.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void __syslog_chk(int pri, int flag, const char *fmt, ...);
void syslog(int pri, const char *fmt, ...);
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
    (void)pri;
    (void)flag;
    (void)fmt;
}
void syslog(int pri, const char *fmt, ...)
{
    (void)pri;
    (void)fmt;
}

struct worker {
    pthread_t tid;
    char user[64];
    char to[64];
    long rounds;
    long ok;
    long failed;
    double *ms;  /* per-login wall time */
    long offset; /* outbox bytes already read */
    char code[64];
};

static const char *confdir;
static const char *service;
static const char *outbox;
static long warmup;
static long rss_first = -1;
static long rss_warm = -1;
static long rss_end = -1;
static pthread_barrier_t start_line;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* KEY's value in kB from a /proc file of this process.  The RSS comes from
 * smaps_rollup, which walks the page tables: VmRSS in status is read from
 * per-CPU counters and can be off by tens of pages. */
static long proc_kb(const char *file, const char *key)
{
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    FILE *f = fopen(file, "r");

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* The newest code for w->to in the outbox lines after w->offset. */
static int fetch_code(struct worker *w)
{
    for (int tries = 0; tries < 500; tries++) {
        FILE *f = fopen(outbox, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int found = 0;

        if (f == NULL) {
            return -1;
        }
        if (fseek(f, w->offset, SEEK_SET) != 0) {
            fclose(f);
            return -1;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
            cJSON *j;
            const cJSON *to;
            const cJSON *code;

            if (line[n - 1] != '\n') {
                break; /* still being written */
            }
            w->offset += (long)n;
            j = cJSON_ParseWithLength(line, (size_t)n);
            to = cJSON_GetObjectItemCaseSensitive(j, "to");
            code = cJSON_GetObjectItemCaseSensitive(j, "code");
            if (cJSON_IsString(to) && strcmp(to->valuestring, w->to) == 0 &&
                cJSON_IsString(code) &&
                strlen(code->valuestring) < sizeof(w->code)) {
                memcpy(w->code, code->valuestring,
                       strlen(code->valuestring) + 1);
                found = 1;
            }
            cJSON_Delete(j);
        }
        free(line);
        fclose(f);
        if (found) {
            return 0;
        }
        {
            struct timespec d = {0, 10 * 1000 * 1000};

            nanosleep(&d, NULL);
        }
    }
    return -1;
}

static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *appdata)
{
    struct worker *w = appdata;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));

    if (r == NULL) {
        return PAM_BUF_ERR;
    }
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
            msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            if (fetch_code(w) != 0 || (r[i].resp = strdup(w->code)) == NULL) {
                for (int k = 0; k < i; k++) {
                    free(r[k].resp);
                }
                free(r);
                return PAM_CONV_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Write every element, so that the pages are resident before the RSS is
 * first read (calloc'ed memory fresh from the kernel is not). */
static void touch(double *v, long n)
{
    for (long i = 0; i < n; i++) {
        v[i] = -1.0;
    }
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct stat st;

    if (stat(outbox, &st) == 0) {
        w->offset = (long)st.st_size;
    }
    pthread_barrier_wait(&start_line);
    for (long i = 0; i < w->rounds; i++) {
        struct pam_conv pc = {conv, w};
        pam_handle_t *pamh = NULL;
        double t0 = now_ms();
        int rc = pam_start_confdir(service, w->user, &pc, confdir, &pamh);

        if (rc == PAM_SUCCESS) {
            rc = pam_authenticate(pamh, 0);
            pam_end(pamh, rc);
        }
        w->ms[i] = now_ms() - t0;
        if (rc == PAM_SUCCESS) {
            w->ok++;
        } else {
            w->failed++;
            fprintf(stderr, "bench_login: %s: %s\n", w->user,
                    pam_strerror(NULL, rc));
        }
        if (warmup > 0 && i == 0) {
            rss_first = proc_kb("/proc/self/smaps_rollup", "Rss");
        }
        if (warmup > 0 && i + 1 == warmup) {
            rss_warm = proc_kb("/proc/self/smaps_rollup", "Rss");
        }
        if (warmup > 0 && i + 1 == w->rounds) {
            rss_end = proc_kb("/proc/self/smaps_rollup", "Rss");
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *user = NULL;
    const char *to = NULL;
    const char *user_prefix = NULL;
    const char *to_prefix = NULL;
    long threads = 0;
    long repeat = 1;
    long nth;
    struct worker *ws;
    double *all;
    long total = 0;
    long ok = 0;
    long failed = 0;
    double t0;
    double wall;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        const char *v = argv[i + 1];

        if (strcmp(k, "--confdir") == 0) {
            confdir = v;
        } else if (strcmp(k, "--service") == 0) {
            service = v;
        } else if (strcmp(k, "--outbox") == 0) {
            outbox = v;
        } else if (strcmp(k, "--user") == 0) {
            user = v;
        } else if (strcmp(k, "--to") == 0) {
            to = v;
        } else if (strcmp(k, "--user-prefix") == 0) {
            user_prefix = v;
        } else if (strcmp(k, "--to-prefix") == 0) {
            to_prefix = v;
        } else if (strcmp(k, "--threads") == 0) {
            threads = strtol(v, NULL, 10);
        } else if (strcmp(k, "--repeat") == 0) {
            repeat = strtol(v, NULL, 10);
        } else if (strcmp(k, "--warmup") == 0) {
            warmup = strtol(v, NULL, 10);
        } else {
            fprintf(stderr, "bench_login: unknown option %s\n", k);
            return 2;
        }
    }
    if (confdir == NULL || service == NULL || outbox == NULL || repeat < 1 ||
        (threads > 0 ? user_prefix == NULL || to_prefix == NULL
                     : user == NULL || to == NULL)) {
        fprintf(stderr, "bench_login: missing options (see the source)\n");
        return 2;
    }
    nth = threads > 0 ? threads : 1;
    ws = calloc((size_t)nth, sizeof(*ws));
    if (ws == NULL) {
        return 1;
    }
    pthread_barrier_init(&start_line, NULL, (unsigned)nth + 1);
    for (long i = 0; i < nth; i++) {
        struct worker *w = &ws[i];

        if (threads > 0) {
            snprintf(w->user, sizeof(w->user), "%s%ld", user_prefix, i);
            snprintf(w->to, sizeof(w->to), "%s%03ld", to_prefix, i);
        } else {
            snprintf(w->user, sizeof(w->user), "%s", user);
            snprintf(w->to, sizeof(w->to), "%s", to);
        }
        w->rounds = repeat;
        w->ms = malloc((size_t)repeat * sizeof(double));
        if (w->ms == NULL) {
            return 1;
        }
        touch(w->ms, repeat);
    }
    for (long i = 0; i < nth; i++) {
        if (pthread_create(&ws[i].tid, NULL, run, &ws[i]) != 0) {
            return 1;
        }
    }
    /* The threads wait at the start line until this is resident too. */
    all = malloc((size_t)(nth * repeat) * sizeof(double));
    if (all == NULL) {
        return 1;
    }
    touch(all, nth * repeat);
    pthread_barrier_wait(&start_line);
    t0 = now_ms();
    for (long i = 0; i < nth; i++) {
        pthread_join(ws[i].tid, NULL);
    }
    wall = now_ms() - t0;
    for (long i = 0; i < nth; i++) {
        memcpy(all + total, ws[i].ms, (size_t)repeat * sizeof(double));
        total += repeat;
        ok += ws[i].ok;
        failed += ws[i].failed;
    }
    qsort(all, (size_t)total, sizeof(double), cmp_double);
    printf("logins=%ld ok=%ld failed=%ld wall_ms=%.1f median_ms=%.2f "
           "min_ms=%.2f max_ms=%.2f rss_first_kb=%ld rss_warm_kb=%ld "
           "rss_end_kb=%ld hwm_kb=%ld\n",
           total, ok, failed, wall, all[total / 2], all[0], all[total - 1],
           rss_first, rss_warm, rss_end,
           proc_kb("/proc/self/status", "VmHWM"));
    return failed == 0 ? 0 : 1;
}
