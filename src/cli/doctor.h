/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor.h - "engagelab-otp doctor": the checks and how they report.
 *
 * A check is one entry in the table of cmd_doctor.c: a name, whether it
 * needs the network (skipped by --offline), and a function that reports
 * one or more results through eotp_doctor_report().  To add a check,
 * write its function (in a doctor_*.c file), declare it here and add one
 * line to the table.  For example:
 *
 *   void eotp_doc_check_redis(struct eotp_doctor *d)
 *   {
 *       if (!eotp_doctor_needs(d, "redis", "redis_url redis_timeout")) {
 *           return;     (a SKIP was reported: a key it needs is broken)
 *       }
 *       ...
 *       eotp_doctor_report(d, "redis", EOTP_DOC_FAIL, "start redis-server",
 *                          "redis %s: %s", url, why);
 *   }
 *
 * and in cmd_doctor.c: {"redis", true, eotp_doc_check_redis}, (true: it
 * needs the network, --offline skips it).  Then a test with a config that
 * breaks it in tests/cli/test_doctor.sh and a paragraph in the doctor
 * section of engagelab-otp(8).  Messages name the file, key or value;
 * the fix says what to run or set.  Use EOTP_DOC_FAIL for what breaks
 * logins or security, EOTP_DOC_WARN for hazards.
 */
#ifndef EOTP_DOCTOR_H
#define EOTP_DOCTOR_H

#include "cli.h"

#include "../core/api_template.h"

#include <stdbool.h>
#include <stddef.h>

enum eotp_doc_status {
    EOTP_DOC_OK = 0,
    EOTP_DOC_WARN = 1, /* works, but a hazard; exit status unchanged */
    EOTP_DOC_FAIL = 2, /* will break logins or security */
    EOTP_DOC_SKIP = 3, /* not run: --offline, or it needs a broken part */
};

struct eotp_doc_result {
    char *name;    /* the check's name: "config", "user_map", ... */
    int status;    /* enum eotp_doc_status */
    char *message; /* what was found, naming the file, key or value */
    char *fix;     /* how to fix it; NULL for OK and SKIP */
};

struct eotp_doctor {
    const struct eotp_global *g;
    bool offline;            /* --offline */
    bool json;               /* --json */
    const char *pam_dir;     /* --pam-dir, default /etc/pam.d */
    const char *sshd_config; /* --sshd-config; NULL: "sshd -T" */

    struct eotp_cfg cfg;
    bool cfg_read;   /* the file was read and parsed (maybe with errors) */
    bool cfg_broken; /* a config_file or config check failed: exit 3 */

    /* The template list, fetched once by the "template" check. */
    bool tpl_fetched;
    struct eotp_tpl_list tpls;

    struct eotp_doc_result *res;
    size_t nres;
    size_t cap;
    bool nomem;
};

/* Record (and, without --json, print) one result. */
void eotp_doctor_report(struct eotp_doctor *d, const char *name, int status,
                        const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Can a check that uses the config keys in keys (space separated) run?
 * If the file could not be read, or one of the keys has an error, a SKIP
 * result is reported for name and false returned.
 */
bool eotp_doctor_needs(struct eotp_doctor *d, const char *name,
                       const char *keys);

/* Is name one of the sources in user_sources (default: the map)? */
bool eotp_doctor_source_used(const struct eotp_cfg *cfg, const char *name);

/* Unknown groups of list (may be NULL) into out ("a, b"); how many. */
size_t eotp_doc_unknown_groups(const char *list, char *out, size_t outlen);

/* Text of PAM stacks and sshd_config (doctor_pam.c): skip blanks; copy
 * the next blank-separated token (one starting with '[' runs to its ']')
 * into out, truncated to outlen - 1, and return what follows it. */
char *eotp_doc_skip_ws(char *p);
char *eotp_doc_next_token(char *p, char *out, size_t outlen);

/* sshd's settings, for the PAM stack check (doctor_sshd.c). */
struct eotp_sshd_settings {
    bool read;
    char source[EOTP_FIELD_MAX + 16];
    bool usepam;
    bool kbdint;
    bool password;
    char authmethods[512];
    bool have_usepam, have_kbdint, have_password, have_authmethods;
    bool stopped; /* a Match block was reached */
};

/* Read them (s->read false when no source could be read). */
void eotp_doc_sshd_read(const struct eotp_doctor *d,
                        struct eotp_sshd_settings *s);

/* Does every list of AuthenticationMethods name publickey? */
bool eotp_doc_sshd_key_first(const struct eotp_sshd_settings *s);

/* Report the sshd results; skips_code: the stack lets a login skip it. */
void eotp_doc_check_sshd(struct eotp_doctor *d,
                         const struct eotp_sshd_settings *s, bool skips_code);

/* The checks (doctor_checks.c, doctor_api.c, doctor_pam.c). */
void eotp_doc_check_user_map(struct eotp_doctor *d);
void eotp_doc_check_groups(struct eotp_doctor *d);
void eotp_doc_check_directory(struct eotp_doctor *d);
void eotp_doc_check_ca_files(struct eotp_doctor *d);
void eotp_doc_check_ldap_insecure(struct eotp_doctor *d);
void eotp_doc_check_state_dir(struct eotp_doctor *d);
void eotp_doc_check_api(struct eotp_doctor *d);
void eotp_doc_check_code_shape(struct eotp_doctor *d);
void eotp_doc_check_alt_templates(struct eotp_doctor *d);
void eotp_doc_check_pam_stacks(struct eotp_doctor *d);
/* transport = smpp (doctor_smpp.c). */
void eotp_doc_check_smpp_tls(struct eotp_doctor *d);
void eotp_doc_check_smpp(struct eotp_doctor *d);
/* redis_url or redis_sentinels (doctor_redis.c). */
void eotp_doc_check_redis(struct eotp_doctor *d);
/* The callback receiver and the last notification (doctor_callback.c). */
void eotp_doc_check_callback(struct eotp_doctor *d);
/* notify_template (doctor_notify.c); network: skips itself. */
void eotp_doc_check_notify(struct eotp_doctor *d);
void eotp_doc_check_rescue(struct eotp_doctor *d);

#endif
