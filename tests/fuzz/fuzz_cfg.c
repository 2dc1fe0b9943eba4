/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cfg - the config file parser (eotp_cfg_parse_buffer, the part of
 * eotp_cfg_load_file after the file checks), then validation and the
 * text form of every key.  Every log line must be printable, a secret
 * never shown, and the config freed without a leak.
 */
#include "fuzz.h"

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eotp_cfg cfg;
    char *buf;
    int r;

    if (size > EOTP_CONF_MAX_SIZE) {
        return 0;
    }
    if (eotp_cfg_init(&cfg) != EOTP_OK) {
        return 0;
    }
    buf = fuzz_strndup(data, size);
    r = eotp_cfg_parse_buffer(&cfg, buf, size, "/etc/fuzz\n.conf",
                              &fuzz_logger);
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_CONFIG);
    if (r == EOTP_OK) {
        (void)eotp_cfg_validate(&cfg, &fuzz_logger);
        for (size_t i = 0; i < eotp_cfg_key_count(); i++) {
            char text[1024];

            eotp_cfg_key_format(&cfg, i, text, sizeof(text));
            FUZZ_CHECK(strnlen(text, sizeof(text)) < sizeof(text));
            if (eotp_cfg_key_is_secret(i)) {
                FUZZ_CHECK(text[0] == '\0' || strcmp(text, "<redacted>") == 0);
            }
        }
    }
    eotp_cfg_free(&cfg);
    free(buf);
    return 0;
}
