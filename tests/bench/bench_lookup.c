/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_lookup - time the destination lookup of one user (the user map
 * or the directory, as user_sources in the config says), for the
 * benchmarks (tests/bench/run-bench.sh); not a test.
 *
 *   bench_lookup CONF USER [ITERATIONS]
 *
 * Loads CONF (root-owned, 0600, like the module), then looks USER up
 * ITERATIONS times (default 20).  Prints "found=yes|no median_ms=M
 * min_ms=M max_ms=M maxrss_kb=K", maxrss being the peak RSS of this
 * process (getrusage).
 */
#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/lookup.h"
#include "../../src/core/usermap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void emit(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    fprintf(stderr, "bench_lookup: %s\n", line);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct eotp_logger lg = {emit, NULL, false};
    struct eotp_cfg cfg;
    struct rusage ru;
    long n = argc > 3 ? strtol(argv[3], NULL, 10) : 20;
    double *ms;
    int found = 0;

    if (argc < 3 || n < 1) {
        fprintf(stderr, "usage: bench_lookup CONF USER [ITERATIONS]\n");
        return 2;
    }
    if (eotp_cfg_init(&cfg) != EOTP_OK ||
        eotp_cfg_load_file(&cfg, argv[1], &lg) != EOTP_OK) {
        return 1;
    }
    ms = calloc((size_t)n, sizeof(double));
    if (ms == NULL) {
        return 1;
    }
    for (long i = 0; i < n; i++) {
        struct eotp_dests d = {{NULL}, 0, 0};
        double t0 = now_ms();
        int r = eotp_lookup_dests(&cfg, argv[2], &lg, &d, NULL, 0);

        ms[i] = now_ms() - t0;
        if (r == EOTP_OK) {
            found++;
        }
        eotp_dests_free(&d);
    }
    qsort(ms, (size_t)n, sizeof(double), cmp);
    getrusage(RUSAGE_SELF, &ru);
    printf("found=%s median_ms=%.2f min_ms=%.2f max_ms=%.2f maxrss_kb=%ld\n",
           found == n ? "yes" : "no", ms[n / 2], ms[0], ms[n - 1],
           ru.ru_maxrss);
    free(ms);
    eotp_cfg_free(&cfg);
    return found == n ? 0 : 1;
}
