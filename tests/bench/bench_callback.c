/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_callback - load client for "engagelab-otp callback serve"
 * (make bench; docs/benchmarks.md).  THREADS threads, each with one
 * keep-alive connection, send COUNT signed callbacks in all (one status
 * row each, a fresh nonce each, message ids cycling over IDS) and read
 * every answer.  Prints the rate and the answers by status code.
 *
 *   bench_callback PORT COUNT THREADS IDS USER SECRET_FILE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static long total;
static long nthreads;
static long nids;
static const char *user;
static char secret[256];
static size_t secret_len;

struct worker {
    pthread_t tid;
    long id;
    long n;
    long codes[600];
    int failed;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(void)
{
    struct sockaddr_in a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one answer (headers, then Content-Length bytes); its code. */
static int read_answer(int fd, char *buf, size_t cap, size_t *have)
{
    for (;;) {
        char *end = memmem(buf, *have, "\r\n\r\n", 4);

        if (end != NULL) {
            size_t hlen = (size_t)(end - buf) + 4;
            long clen = 0;
            char *cl = memmem(buf, hlen, "Content-Length: ", 16);
            int code = (int)strtol(buf + 9, NULL, 10); /* "HTTP/1.1 200" */

            if (cl != NULL) {
                clen = strtol(cl + 16, NULL, 10);
            }
            while (*have < hlen + (size_t)clen) {
                ssize_t r = recv(fd, buf + *have, cap - *have, 0);

                if (r <= 0) {
                    return -1;
                }
                *have += (size_t)r;
            }
            memmove(buf, buf + hlen + clen, *have - hlen - (size_t)clen);
            *have -= hlen + (size_t)clen;
            return code;
        }
        {
            ssize_t r = recv(fd, buf + *have, cap - *have - 1, 0);

            if (r <= 0) {
                return -1;
            }
            *have += (size_t)r;
        }
    }
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char req[2048];
    char body[512];
    char buf[8192];
    char msg[256];
    char nonce[64];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    size_t have = 0;
    int fd = connect_to();

    if (fd < 0) {
        w->failed = 1;
        return NULL;
    }
    for (long i = 0; i < w->n; i++) {
        long seq = i * nthreads + w->id;
        long long ts = (long long)time(NULL);
        int blen;
        int rlen;
        int mlen;
        int code;

        /* Unique across runs too: each part of the long run is a new
         * process, and a repeated nonce would be refused as a replay. */
        (void)snprintf(nonce, sizeof(nonce), "b%ld-%ld-%ld", (long)getpid(),
                       w->id, i);
        mlen = snprintf(msg, sizeof(msg), "%lld%s%s", ts, nonce, user);
        (void)HMAC(EVP_sha256(), secret, (int)secret_len,
                   (const unsigned char *)msg, (size_t)mlen, mac, &maclen);
        for (unsigned int k = 0; k < maclen; k++) {
            (void)snprintf(hex + 2 * k, 3, "%02x", mac[k]);
        }
        blen = snprintf(
            body, sizeof(body),
            "{\"total\":1,\"rows\":[{\"message_id\":\"bench-%ld\","
            "\"channel\":\"sms\",\"itime\":%lld,\"status\":{"
            "\"message_status\":\"%s\",\"status_data\":{"
            "\"current_send_channel\":\"sms\"},\"billing\":{\"cost\":0.005,"
            "\"currency\":\"USD\"},\"error_code\":0}}]}",
            seq % nids, ts + seq / nids,
            (seq / nids) % 2 ? "delivered" : "sent");
        rlen = snprintf(req, sizeof(req),
                        "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\n"
                        "X-CALLBACK-ID: timestamp=%lld;nonce=%s;username=%s;"
                        "signature=%s\r\nContent-Length: %d\r\n\r\n%s",
                        ts, nonce, user, hex, blen, body);
        if (send_all(fd, req, (size_t)rlen) != 0) {
            w->failed = 1;
            break;
        }
        code = read_answer(fd, buf, sizeof(buf), &have);
        if (code < 0 || code >= 600) {
            w->failed = 1;
            break;
        }
        w->codes[code]++;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct worker *ws;
    FILE *f;
    double t0;
    double t1;
    long codes[600] = {0};
    int failed = 0;

    if (argc != 7) {
        (void)fprintf(stderr,
                      "usage: %s PORT COUNT THREADS IDS USER "
                      "SECRET_FILE\n",
                      argv[0]);
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    total = strtol(argv[2], NULL, 10);
    nthreads = strtol(argv[3], NULL, 10);
    nids = strtol(argv[4], NULL, 10);
    user = argv[5];
    f = fopen(argv[6], "r");
    if (f == NULL || fgets(secret, sizeof(secret), f) == NULL) {
        return 2;
    }
    fclose(f);
    secret_len = strcspn(secret, "\r\n");
    if (nthreads < 1 || nids < 1) {
        return 2;
    }
    ws = calloc((size_t)nthreads, sizeof(*ws));
    if (ws == NULL) {
        return 2;
    }
    t0 = now_s();
    for (long i = 0; i < nthreads; i++) {
        ws[i].id = i;
        ws[i].n = total / nthreads + (i < total % nthreads ? 1 : 0);
        pthread_create(&ws[i].tid, NULL, work, &ws[i]);
    }
    for (long i = 0; i < nthreads; i++) {
        pthread_join(ws[i].tid, NULL);
        failed |= ws[i].failed;
        for (int c = 0; c < 600; c++) {
            codes[c] += ws[i].codes[c];
        }
    }
    t1 = now_s();
    printf("callbacks=%ld seconds=%.2f rate=%.0f/s", total, t1 - t0,
           (double)total / (t1 - t0));
    for (int c = 0; c < 600; c++) {
        if (codes[c] > 0) {
            printf(" http_%d=%ld", c, codes[c]);
        }
    }
    printf("%s\n", failed ? " CONNECTION_FAILED" : "");
    free(ws);
    return failed ? 1 : 0;
}
