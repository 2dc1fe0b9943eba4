/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg.h - configuration shared by the module and the admin tool.
 *
 * Settings are applied as built-in defaults, then the config file, then
 * module arguments (Linux-PAM style).  Every key is described once in a
 * table in cfg.c; unknown keys and bad values are errors.
 */
#ifndef EOTP_CFG_H
#define EOTP_CFG_H

#include "err.h"
#include "log.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define EOTP_DEFAULT_CONF "/etc/security/pam_engagelab_otp.conf"
#define EOTP_DEFAULT_API_URL "https://otp.api.engagelab.cc"
#define EOTP_DEFAULT_USER_MAP "/etc/security/engagelab_otp_users"
#define EOTP_DEFAULT_STATE_DIR "/var/lib/pam_engagelab_otp"
#define EOTP_DEFAULT_RESCUE_FILE "/etc/security/engagelab_otp_rescue"
#define EOTP_CONF_MAX_SIZE (64 * 1024)
#define EOTP_CFG_KEYS_MAX 128 /* room in bad_keys[] for the key table */

enum eotp_unmapped {
    EOTP_UNMAPPED_DENY = 0,
    EOTP_UNMAPPED_IGNORE = 1,
};

enum eotp_code_mode {
    EOTP_CODE_PLATFORM = 0, /* the service generates and verifies */
    EOTP_CODE_LOCAL = 1,    /* we generate, /v1/codes delivers, we verify */
};

/* "N/SECONDS": at most count events per seconds; count 0: no limit. */
struct eotp_rate {
    long count;
    long seconds;
};

struct eotp_cfg {
    char *api_url;
    char *dev_key;
    char *dev_secret;
    char *ca_file;
    char *template_id;
    char *language;
    char *user_map;
    char *state_dir;
    char *proxy;
    int failmode;         /* enum eotp_failmode */
    int unmapped;         /* enum eotp_unmapped */
    long connect_timeout; /* seconds */
    long timeout;         /* seconds, per request */
    long deadline;        /* seconds of API time per login */
    long max_attempts;
    bool debug;

    /* Where destinations come from (issue: directory and policy). */
    char *user_sources; /* list of "map", "ldap"; first hit wins */
    char *ldap_uri;     /* list of ldap:// or ldaps:// URIs */
    char *ldap_base;
    char *ldap_filter;     /* %u is the RFC 4515-escaped user name */
    char *ldap_attributes; /* list, first present wins */
    char *ldap_bind_dn;
    char *ldap_bind_password_file;
    char *ldap_ca_file;
    bool ldap_starttls;
    long ldap_timeout;  /* seconds, bounds connect and search */
    bool ldap_insecure; /* allow ldap:// to another host without StartTLS */
    char *default_country_code; /* default_country: digits, for national
                                   numbers in the map and the directory */

    /* Who must use the second factor. */
    char *only_groups;     /* list of group names */
    char *exempt_groups;   /* list of group names */
    char *exempt_networks; /* list of IPv4/IPv6 CIDRs matched on rhost */

    /* What the message says. */
    char *params;     /* list of name=template (%h %s %u %r %c %%) */
    long code_length; /* 0: any length from 4 to 10; default 6 */
    long code_type;   /* bitmask 1 digits, 2 lower, 4 upper; default 1 */

    /* Abuse resistance and state. */
    struct eotp_rate send_limit;       /* per user */
    struct eotp_rate rhost_send_limit; /* per remote address */
    struct eotp_rate lockout;          /* wrong codes per user */
    char *alt_templates;               /* list of channel:template_id */
    int code_mode;                     /* enum eotp_code_mode */
    long code_ttl;                     /* seconds a local code is valid */
    long grace_period;                 /* seconds; 0: off */

    /*
     * Keys whose value was refused (bad value, given twice), indexed as
     * eotp_cfg_key_name(); doctor skips the checks that need them.
     */
    unsigned char bad_keys[EOTP_CFG_KEYS_MAX];
    /* map-ux: appended to what a refused user is told (whom to ask). */
    char *help_text;
    /* How local codes travel (issue 15: SMPP transport). */
    int transport;            /* enum eotp_transport (transport.h) */
    char *smpp_host;          /* host name or address */
    long smpp_port;           /* 0: not set */
    char *smpp_system_id;     /* at most 15 characters */
    char *smpp_password_file; /* root-only, one line of 1 to 8 chars */
    bool smpp_tls;            /* default yes */
    char *smpp_ca_file;       /* NULL: ca_file, else the system store */
    /* Fleet-wide state on Redis (issue 13, redis.h).  Off when neither
     * redis_url nor redis_sentinels is set. */
    char *redis_url;           /* list of rediss:// redis:// unix:// */
    char *redis_sentinels;     /* list of HOST:PORT (or sentinel URLs) */
    char *redis_master_name;   /* the name the sentinels monitor */
    char *redis_user;          /* ACL user when the URL names none */
    char *redis_password_file; /* root-only; wins over URL passwords */
    char *redis_ca_file;       /* PEM CAs; unset: the system store */
    char *redis_key_file;      /* root-only; default key from dev_secret */
    long redis_timeout;        /* ms of Redis time per login */
    bool redis_insecure;       /* allow redis:// beyond loopback */
    bool redis_required;       /* no Redis: refuse, never state_dir */
    char *redis_tls_cert;      /* PEM client certificate (+ chain) */
    char *redis_tls_key;       /* root-only PEM key of redis_tls_cert */
    /* Rescue codes (issue 16, rescue.h). */
    char *rescue_file; /* root-only; "" or missing: no rescue codes */
    /* Delivery status callback receiver (issue 14, src/receiver/). */
    char *callback_listen;      /* ADDR:PORT, default 127.0.0.1:8787 */
    char *callback_username;    /* the username EngageLab signs with */
    char *callback_secret_file; /* root-only: the signing secret */
    long callback_max_age;      /* seconds a signature is fresh (300) */
    char *callback_tls_cert;    /* PEM: serve HTTPS itself */
    char *callback_tls_key;     /* root-only PEM key of callback_tls_cert */
    char *callback_auth_file;   /* root-only: the Authorization value */
    /* Delivery status at the prompt (issue 14, delivery_prompt.c). */
    bool delivery_status;      /* look the code's status up; default yes */
    long delivery_status_wait; /* ms a lookup may take at most (Redis) */
    /* Notifications (issue 16, notify.h).  Off without notify_template. */
    char *notify_template;         /* custom-message template id */
    char *notify_on;               /* list of events; NULL: the default */
    long notify_timeout;           /* ms for one notice, inside deadline */
    struct eotp_rate notify_limit; /* notices per user */
};

/* Fill in the defaults.  Returns 0 or EOTP_E_NOMEM. */
int eotp_cfg_init(struct eotp_cfg *cfg);

/* Wipe secrets and free every string; cfg may be reused after init. */
void eotp_cfg_free(struct eotp_cfg *cfg);

/*
 * Read the config file (must be a root-owned 0600 regular file).
 * EOTP_E_FILE: missing or unreadable; EOTP_E_CONFIG: insecure or invalid.
 * Problems are logged through lg with the file name and line number.
 */
int eotp_cfg_load_file(struct eotp_cfg *cfg, const char *path,
                       const struct eotp_logger *lg);

/*
 * Parse config text: buf holds len bytes followed by a NUL and is split
 * into lines in place.  name (the file name) is used in messages.  Same
 * rules and errors as eotp_cfg_load_file() once the file is read.
 * "key = value   # note": a '#' after white space starts a comment.
 * Every line is checked and every problem logged; the first error is
 * returned (any error refuses the whole file).
 */
int eotp_cfg_parse_buffer(struct eotp_cfg *cfg, char *buf, size_t len,
                          const char *name, const struct eotp_logger *lg);

/*
 * Set one key from text.  where names the origin for messages
 * ("/etc/...conf:12", "argument").  Secrets may not come from
 * module arguments (from_arg true).
 */
int eotp_cfg_set(struct eotp_cfg *cfg, const char *key, const char *value,
                 bool from_arg, const char *where,
                 const struct eotp_logger *lg);

/*
 * Look through module arguments for conf=, failmode= and debug without
 * judging anything else, so the failure mode applies even when the
 * config cannot be read.  Outputs are left untouched when absent.
 */
void eotp_cfg_scan_args(int argc, const char **argv, const char **conf,
                        int *failmode, bool *debug);

/* Apply every module argument (conf= is skipped); errors are logged. */
int eotp_cfg_apply_args(struct eotp_cfg *cfg, int argc, const char **argv,
                        const struct eotp_logger *lg);

/* Check required keys and relations between keys; logs every problem. */
int eotp_cfg_validate(const struct eotp_cfg *cfg,
                      const struct eotp_logger *lg);

/*
 * Check every trust file the config names (ca_file, ldap_ca_file: the
 * keys flagged KF_TRUST in cfg.c's table; a trust file added later gets
 * the flag) with eotp_safefile_check(): a root-owned regular file, not a
 * symbolic link, not writable by group or others, in directories only
 * root can change.  The first refused file is logged (key, file, reason)
 * and gives EOTP_E_CONFIG, also when it is missing.  Called after
 * eotp_cfg_validate() by the module and the admin tool.
 */
int eotp_cfg_check_files(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg);

/*
 * True when uri is ldap:// to a host that is not loopback (127.0.0.0/8,
 * ::1, localhost) or names no host: without StartTLS the search and its
 * answer, which decides where codes go, cross the network in clear.
 * ldaps:// and ldapi:// are never in clear.  eotp_cfg_validate() refuses
 * such a URI unless ldap_starttls or ldap_insecure is set.
 */
bool eotp_ldap_uri_in_clear(const char *uri);

/* Number of known keys, and their names, for tools and docs. */
size_t eotp_cfg_key_count(void);
const char *eotp_cfg_key_name(size_t i);
bool eotp_cfg_key_is_secret(size_t i);

/* Was key name's value refused by the parser (see bad_keys)? */
bool eotp_cfg_key_bad(const struct eotp_cfg *cfg, const char *name);

/*
 * Text form of key i's current value into buf; secrets are shown as
 * "<redacted>" when set, unset values as "" .  Returns buf.
 */
char *eotp_cfg_key_format(const struct eotp_cfg *cfg, size_t i, char *buf,
                          size_t buflen);

/*
 * Walk a list value ("a, b c"): items are separated by commas and/or
 * white space.  Copies the next item into item (truncated to itemlen - 1)
 * and advances *cursor; returns false at the end.
 */
bool eotp_list_next(const char **cursor, char *item, size_t itemlen);

/* Strict number parsing: all of s, base 10, in [min, max]. */
int eotp_parse_long(const char *s, long min, long max, long *out);

/* A listen address (callback_listen): "IPv4:PORT", "[IPv6]:PORT" or
 * "*:PORT" (every IPv4 address); PORT 1 to 65535. */
struct eotp_listen {
    struct sockaddr_storage addr;
    socklen_t len;
};

/* Returns 0 or EOTP_E_CONFIG. */
int eotp_listen_parse(const char *s, struct eotp_listen *out);

#endif
