/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_template - the template answers and the create-body validator of
 * the admin tool (api_template.c): list and get parsers, the JSON
 * re-serialiser and the readable rendering, eotp_tpl_validate().  The
 * first byte chooses the function.  Text meant for a terminal must be
 * printable apart from newlines; re-serialised JSON must parse again.
 */
#include "fuzz.h"

#include "../../src/core/api_template.h"
#include "../../src/core/err.h"

#include <cjson/cJSON.h>

static void check_text(const char *s, int allow_nl)
{
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        FUZZ_CHECK(c >= 0x20 || (allow_nl && (c == '\n' || c == '\t')));
        FUZZ_CHECK(c != 0x7f);
    }
}

static void check_info(const struct eotp_tpl_info *t)
{
    FUZZ_CHECK(memchr(t->id, '\0', sizeof(t->id)) != NULL);
    FUZZ_CHECK(memchr(t->description, '\0', sizeof(t->description)) != NULL);
    FUZZ_CHECK(memchr(t->remark, '\0', sizeof(t->remark)) != NULL);
    check_text(t->id, 0);
    check_text(t->description, 0);
    check_text(t->remark, 0);
    FUZZ_CHECK(eotp_tpl_status_text(t->status) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body;
    size_t len;
    char *copy;
    char *out = NULL;
    char why[256];

    if (size < 1) {
        return 0;
    }
    len = size - 1;
    copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        return 0;
    }
    if (len > 0) {
        memcpy(copy, data + 1, len);
    }
    body = copy;
    switch (data[0] % 6) {
    case 0: {
        struct eotp_tpl_list l = {NULL, 0};

        if (eotp_tpl_parse_list(body, len, &l) == EOTP_OK) {
            FUZZ_CHECK(l.n <= EOTP_TPL_LIST_MAX);
            for (size_t i = 0; i < l.n; i++) {
                check_info(&l.items[i]);
            }
        }
        eotp_tpl_list_free(&l);
        break;
    }
    case 1: {
        static struct eotp_tpl_info t;

        if (eotp_tpl_parse_one(body, len, &t) == EOTP_OK) {
            check_info(&t);
        }
        break;
    }
    case 2:
    case 3:
        if (eotp_tpl_json_clean(body, len, data[0] % 6 == 2, &out) ==
            EOTP_OK) {
            cJSON *j;

            FUZZ_CHECK(out != NULL);
            check_text(out, 1);
            j = cJSON_Parse(out);
            FUZZ_CHECK(j != NULL);
            cJSON_Delete(j);
        }
        break;
    case 4:
        if (eotp_tpl_render(body, len, &out) == EOTP_OK) {
            FUZZ_CHECK(out != NULL);
            check_text(out, 1);
        }
        break;
    default:
        memset(why, 0, sizeof(why));
        (void)eotp_tpl_validate(body, len, why, sizeof(why));
        FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
        check_text(why, 0);
        break;
    }
    free(out);
    free(copy);
    return 0;
}
