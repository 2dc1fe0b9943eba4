/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_templates.c - "templates list|get|create|delete".
 */
#include "cli.h"

#include "../core/api_template.h"
#include "../core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " templates list [--json]",
    "       " EOTP_PROG " templates get ID [--json]",
    "       " EOTP_PROG " templates create FILE|-",
    "       " EOTP_PROG " templates create --id ID --channels LIST "
    "--code-length N",
    "                 --ttl MINUTES --brand NAME [--sms-text TEXT]",
    "                 [--code-type N] [--description TEXT]",
    "       " EOTP_PROG " templates delete ID [--yes]",
    "",
    "  list     all templates: id, channels, review status, created, remark",
    "  get      one template in full",
    "  create   a template from the JSON body of the API (FILE, or - for",
    "           standard input), or from the options for the common case;",
    "           the body is checked locally before anything is sent",
    "  delete   a template; asks for confirmation on a terminal",
    "",
    "Options:",
    "  --json              print the service's JSON (valid JSON only)",
    "  --id ID             template_id, 1-128 characters",
    "  --channels LIST     whatsapp, sms, email, voice joined by '|' or ','",
    "                      in fallback order (email only alone)",
    "  --sms-text TEXT     SMS text with {{code}} (default: the standard "
    "text)",
    "  --code-length N     code length, 4-10",
    "  --ttl MINUTES       code lifetime, 1-10 (1, 5 or 10 with whatsapp)",
    "  --brand NAME        brand name, 2-10 characters",
    "  --code-type N       1 digits, 2 lowercase, 4 uppercase, or a sum",
    "                      (default 1)",
    "  --description TEXT  description, up to 255 characters",
    "  --yes               delete without asking",
    "  -h, --help          show this help",
    NULL};

void eotp_usage_templates(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

static int help_or_bad(int opt, const char *argv0)
{
    if (opt == 'h') {
        eotp_usage_templates(stdout);
        return EOTP_EXIT_OK;
    }
    return eotp_cli_bad_option(argv0);
}

/*
 * The one operand of "templates get|delete": the template ID, and the API
 * path for it (the ID percent-encoded).
 */
static int one_id(int argc, char **argv, const char **id, char *path,
                  size_t pathlen)
{
    if (optind + 1 != argc) {
        return eotp_cli_usage_error(argv[0], "expects one template ID");
    }
    if (eotp_tpl_path(argv[optind], path, pathlen) != EOTP_OK) {
        return eotp_cli_usage_error(
            argv[0], "ID must be 1 to 128 printable characters");
    }
    *id = argv[optind];
    return EOTP_EXIT_OK;
}

static void safe_copy(char *dst, size_t len, const char *src)
{
    eotp_sanitize(dst, len, src, false);
}

/* ---- list ---------------------------------------------------------------- */

static void print_table(const struct eotp_tpl_list *l)
{
    int idw = 2;

    if (l->n == 0) {
        (void)printf("no templates\n");
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        int n = (int)strlen(l->items[i].id);

        if (n > idw) {
            idw = n > 40 ? 40 : n;
        }
    }
    (void)printf("%-*s  %-20s  %-14s  %-23s  %s\n", idw, "ID", "CHANNELS",
                 "STATUS", "CREATED", "REMARK");
    for (size_t i = 0; i < l->n; i++) {
        const struct eotp_tpl_info *t = &l->items[i];
        char created[64] = "-";
        char status[32];

        if (t->created >= 0) {
            struct tm tm;
            time_t tt = (time_t)t->created;

            if (gmtime_r(&tt, &tm) == NULL ||
                strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S UTC",
                         &tm) == 0) {
                (void)snprintf(created, sizeof(created), "-");
            }
        }
        if (t->status >= 1 && t->status <= 3) {
            (void)snprintf(status, sizeof(status), "%s",
                           eotp_tpl_status_text(t->status));
        } else {
            (void)snprintf(status, sizeof(status), "Unknown (%d)", t->status);
        }
        (void)printf("%-*s  %-20s  %-14s  %-23s  %s\n", idw, t->id,
                     t->strategy[0] != '\0' ? t->strategy : "-", status,
                     created, t->remark[0] != '\0' ? t->remark : "-");
    }
}

static int tpl_list(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_cfg cfg;
    struct eotp_api *api = NULL;
    struct eotp_tpl_list l = {NULL, 0};
    char *json = NULL;
    bool want_json = false;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'j') {
            want_json = true;
        } else {
            return help_or_bad(opt, argv[0]);
        }
    }
    if (optind != argc) {
        return eotp_cli_usage_error(argv[0], "takes no arguments");
    }
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    rc = eotp_cli_api_open(&cfg, &api);
    if (rc != EOTP_EXIT_OK) {
        goto out;
    }
    r = eotp_tpl_list(api, &l, want_json ? &json : NULL);
    if (r != EOTP_OK) {
        rc = eotp_cli_api_fail(api, "templates list", r);
        goto out;
    }
    if (want_json) {
        (void)printf("%s\n", json);
    } else {
        print_table(&l);
    }
    rc = EOTP_EXIT_OK;
out:
    free(json);
    eotp_tpl_list_free(&l);
    eotp_api_free(api);
    eotp_cfg_free(&cfg);
    return rc;
}

/* ---- get ----------------------------------------------------------------- */

static int tpl_get(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_cfg cfg;
    struct eotp_api *api = NULL;
    struct eotp_tpl_info info;
    char path[1024];
    char *json = NULL;
    char *text = NULL;
    bool want_json = false;
    const char *id = NULL;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'j') {
            want_json = true;
        } else {
            return help_or_bad(opt, argv[0]);
        }
    }
    rc = one_id(argc, argv, &id, path, sizeof(path));
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    rc = eotp_cli_api_open(&cfg, &api);
    if (rc != EOTP_EXIT_OK) {
        goto out;
    }
    r = eotp_tpl_get(api, id, &info, want_json ? &json : NULL,
                     want_json ? NULL : &text);
    if (r != EOTP_OK) {
        char safe[EOTP_FIELD_MAX];
        char what[EOTP_FIELD_MAX + 32];

        safe_copy(safe, sizeof(safe), id);
        (void)snprintf(what, sizeof(what), "templates get %s", safe);
        rc = eotp_cli_api_fail(api, what, r);
        goto out;
    }
    (void)printf("%s%s", want_json ? json : text, want_json ? "\n" : "");
    rc = EOTP_EXIT_OK;
out:
    free(json);
    free(text);
    eotp_api_free(api);
    eotp_cfg_free(&cfg);
    return rc;
}

/* ---- create -------------------------------------------------------------- */

/* Read a whole file ("-": standard input) of at most max bytes. */
static int read_input(const char *name, size_t max, char **buf, size_t *len)
{
    int fd = strcmp(name, "-") == 0
                 ? STDIN_FILENO
                 : open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    char *b;
    size_t used = 0;

    if (fd < 0) {
        eotp_cli_err("cannot open %s: %s", name, strerror(errno));
        return EOTP_EXIT_USAGE;
    }
    b = malloc(max + 2);
    if (b == NULL) {
        if (fd != STDIN_FILENO) {
            (void)close(fd);
        }
        eotp_cli_err("out of memory");
        return EOTP_EXIT_CONFIG;
    }
    for (;;) {
        ssize_t n = read(fd, b + used, max + 1 - used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            eotp_cli_err("cannot read %s: %s", name, strerror(errno));
            free(b);
            if (fd != STDIN_FILENO) {
                (void)close(fd);
            }
            return EOTP_EXIT_USAGE;
        }
        if (n == 0) {
            break;
        }
        used += (size_t)n;
        if (used > max) {
            break;
        }
    }
    if (fd != STDIN_FILENO) {
        (void)close(fd);
    }
    if (used > max) {
        eotp_cli_err("%s is larger than %zu bytes", name, max);
        free(b);
        return EOTP_EXIT_USAGE;
    }
    b[used] = '\0';
    *buf = b;
    *len = used;
    return EOTP_EXIT_OK;
}

/* Which option of the flag form sets a field, for messages. */
static const char *flag_for(const char *why)
{
    static const struct {
        const char *field;
        const char *flag;
    } map[] = {
        {"template_id:", "--id"},
        {"description:", "--description"},
        {"send_channel_strategy:", "--channels"},
        {"brand_name:", "--brand"},
        {"verify_code_config.verify_code_type:", "--code-type"},
        {"verify_code_config.verify_code_len:", "--code-length"},
        {"verify_code_config.verify_code_ttl:", "--ttl"},
        {"sms_config.template_custom_config.custom_content:", "--sms-text"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strncmp(why, map[i].field, strlen(map[i].field)) == 0) {
            return map[i].flag;
        }
    }
    return NULL;
}

enum {
    OPT_ID = 256,
    OPT_CHANNELS,
    OPT_SMS_TEXT,
    OPT_CODE_LENGTH,
    OPT_TTL,
    OPT_BRAND,
    OPT_CODE_TYPE,
    OPT_DESCRIPTION,
};

static int tpl_create(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"id", required_argument, NULL, OPT_ID},
        {"channels", required_argument, NULL, OPT_CHANNELS},
        {"sms-text", required_argument, NULL, OPT_SMS_TEXT},
        {"code-length", required_argument, NULL, OPT_CODE_LENGTH},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"brand", required_argument, NULL, OPT_BRAND},
        {"code-type", required_argument, NULL, OPT_CODE_TYPE},
        {"description", required_argument, NULL, OPT_DESCRIPTION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_tpl_spec spec;
    struct eotp_tpl_info info;
    struct eotp_cfg cfg;
    struct eotp_api *api = NULL;
    const char *len_s = NULL;
    const char *ttl_s = NULL;
    const char *type_s = NULL;
    char *body = NULL;
    char *channels = NULL;
    char why[512];
    char safe[EOTP_FIELD_MAX];
    size_t body_len = 0;
    bool flags = false;
    bool cfg_loaded = false;
    int opt;
    int rc;
    int r;

    memset(&spec, 0, sizeof(spec));
    spec.code_type = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        flags = true;
        switch (opt) {
        case OPT_ID:
            spec.id = optarg;
            break;
        case OPT_CHANNELS:
            spec.channels = optarg;
            break;
        case OPT_SMS_TEXT:
            spec.sms_text = optarg;
            break;
        case OPT_CODE_LENGTH:
            len_s = optarg;
            break;
        case OPT_TTL:
            ttl_s = optarg;
            break;
        case OPT_BRAND:
            spec.brand = optarg;
            break;
        case OPT_CODE_TYPE:
            type_s = optarg;
            break;
        case OPT_DESCRIPTION:
            spec.description = optarg;
            break;
        default:
            return help_or_bad(opt, argv[0]);
        }
    }
    if (flags && optind != argc) {
        return eotp_cli_usage_error(argv[0],
                                    "give either FILE or the options, not "
                                    "both");
    }
    if (!flags && optind + 1 != argc) {
        return eotp_cli_usage_error(argv[0],
                                    "expects FILE (- for standard input) or "
                                    "the options");
    }
    if (flags) {
        if (spec.id == NULL || spec.channels == NULL || len_s == NULL ||
            ttl_s == NULL || spec.brand == NULL) {
            return eotp_cli_usage_error(
                argv[0], "the options form needs --id, --channels, "
                         "--code-length, --ttl and --brand");
        }
        if (eotp_cli_number("--code-length", len_s, -1000000, 1000000,
                            &spec.code_len) != EOTP_EXIT_OK ||
            eotp_cli_number("--ttl", ttl_s, -1000000, 1000000,
                            &spec.code_ttl) != EOTP_EXIT_OK ||
            (type_s != NULL &&
             eotp_cli_number("--code-type", type_s, -1000000, 1000000,
                             &spec.code_type) != EOTP_EXIT_OK)) {
            return eotp_cli_bad_option(argv[0]);
        }
        channels = strdup(spec.channels);
        if (channels == NULL) {
            eotp_cli_err("out of memory");
            return EOTP_EXIT_CONFIG;
        }
        for (char *p = channels; *p != '\0'; p++) {
            if (*p == ',') {
                *p = '|';
            }
        }
        spec.channels = channels;
        if (spec.sms_text != NULL && strstr(channels, "sms") == NULL) {
            rc = eotp_cli_usage_error(argv[0],
                                      "--sms-text needs sms in --channels");
            goto out;
        }
        r = eotp_tpl_build(&spec, &body, why, sizeof(why));
        if (r == EOTP_E_NOMEM) {
            eotp_cli_err("out of memory");
            rc = EOTP_EXIT_CONFIG;
            goto out;
        }
        if (r != EOTP_OK) {
            eotp_cli_err("invalid template: %s", why);
            rc = EOTP_EXIT_USAGE;
            goto out;
        }
        body_len = strlen(body);
    } else {
        rc = read_input(argv[optind], EOTP_TPL_BODY_MAX, &body, &body_len);
        if (rc != EOTP_EXIT_OK) {
            goto out;
        }
    }
    /* Everything is checked here, before the config or the network. */
    r = eotp_tpl_validate(body, body_len, why, sizeof(why));
    if (r == EOTP_E_NOMEM) {
        eotp_cli_err("out of memory");
        rc = EOTP_EXIT_CONFIG;
        goto out;
    }
    if (r != EOTP_OK) {
        const char *flag = flags ? flag_for(why) : NULL;

        if (flag != NULL) {
            eotp_cli_err("invalid template (%s): %s", flag, why);
        } else {
            eotp_cli_err("invalid template: %s", why);
        }
        rc = EOTP_EXIT_USAGE;
        goto out;
    }
    memset(&info, 0, sizeof(info));
    (void)eotp_tpl_parse_one(body, body_len, &info);
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        goto out;
    }
    cfg_loaded = true;
    rc = eotp_cli_api_open(&cfg, &api);
    if (rc != EOTP_EXIT_OK) {
        goto out;
    }
    safe_copy(safe, sizeof(safe), info.id);
    r = eotp_tpl_create(api, body, body_len, why, sizeof(why));
    if (r != EOTP_OK) {
        char what[EOTP_FIELD_MAX + 32];

        (void)snprintf(what, sizeof(what), "templates create %s", safe);
        rc = eotp_cli_api_fail(api, what, r);
        goto out;
    }
    (void)printf("template %s created; status: %s\n", safe,
                 eotp_tpl_status_text(EOTP_TPL_STATUS_PENDING));
    (void)printf("It can be used once the review in the EngageLab console "
                 "has approved it.\n");
    rc = EOTP_EXIT_OK;
out:
    free(body);
    free(channels);
    eotp_api_free(api);
    if (cfg_loaded) {
        eotp_cfg_free(&cfg);
    }
    return rc;
}

/* ---- delete -------------------------------------------------------------- */

static int tpl_delete(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_cfg cfg;
    struct eotp_api *api = NULL;
    char path[1024];
    char safe[EOTP_FIELD_MAX];
    char question[EOTP_FIELD_MAX + 64];
    bool yes = false;
    const char *id = NULL;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'y') {
            yes = true;
        } else {
            return help_or_bad(opt, argv[0]);
        }
    }
    rc = one_id(argc, argv, &id, path, sizeof(path));
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    safe_copy(safe, sizeof(safe), id);
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    if (!yes) {
        int ans;

        (void)snprintf(question, sizeof(question),
                       "Delete template %s? This cannot be undone.", safe);
        ans = eotp_cli_confirm(question);
        if (ans < 0) {
            eotp_cli_err("not deleting %s: standard input is not a terminal "
                         "to confirm on; add --yes",
                         safe);
            rc = EOTP_EXIT_USAGE;
            goto out;
        }
        if (ans == 0) {
            (void)printf("template %s not deleted\n", safe);
            rc = EOTP_EXIT_NO;
            goto out;
        }
    }
    rc = eotp_cli_api_open(&cfg, &api);
    if (rc != EOTP_EXIT_OK) {
        goto out;
    }
    r = eotp_tpl_delete(api, id);
    if (r != EOTP_OK) {
        char what[EOTP_FIELD_MAX + 32];

        (void)snprintf(what, sizeof(what), "templates delete %s", safe);
        rc = eotp_cli_api_fail(api, what, r);
        goto out;
    }
    (void)printf("template %s deleted\n", safe);
    rc = EOTP_EXIT_OK;
out:
    eotp_api_free(api);
    eotp_cfg_free(&cfg);
    return rc;
}

/* ---- the group ----------------------------------------------------------- */

static const struct eotp_cmd subcmds[] = {
    {"list", tpl_list, eotp_usage_templates, "list all templates"},
    {"get", tpl_get, eotp_usage_templates, "show one template"},
    {"create", tpl_create, eotp_usage_templates, "create a template"},
    {"delete", tpl_delete, eotp_usage_templates, "delete a template"},
};

int eotp_cmd_templates(int argc, char **argv, const struct eotp_global *g)
{
    const struct eotp_cmd *c;

    if (argc < 2) {
        eotp_usage_templates(stderr);
        return EOTP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        eotp_usage_templates(stdout);
        return EOTP_EXIT_OK;
    }
    c = eotp_cli_find(subcmds, sizeof(subcmds) / sizeof(subcmds[0]), argv[1]);
    if (c == NULL) {
        eotp_cli_err("templates: unknown command '%s' (list, get, create, "
                     "delete)",
                     argv[1]);
        return eotp_cli_bad_option(argv[0]);
    }
    return eotp_cli_run(c, argv[0], argc - 1, argv + 1, g);
}
