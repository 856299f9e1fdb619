/*
 * cli_provenance.c - provenance with the instruction sets this run may use.
 *
 * common/provenance.c records build and host facts but does not know the
 * kernels; the ISA list comes from the kernels' probes (after
 * LNBENCH_DISABLE_ISA masking), gathered here for every command.
 */
#include "commands.h"
#include "cpu_features.h"
#include "provenance.h"

#include <stdio.h>

size_t cli_isas(const char *out[], size_t max)
{
    size_t n = 0;
    for (int i = 0; i < LN_ISA_COUNT && n < max; i++)
        if (ln_isa_unavailable((ln_isa)i) == NULL)
            out[n++] = ln_isa_name((ln_isa)i);
    return n;
}

void cli_prov_write_json(ln_json *j)
{
    const char *isas[LN_ISA_COUNT];
    size_t n = cli_isas(isas, LN_ISA_COUNT);
    ln_prov_write_context(j, isas, n);
    /* "<device>_device": the GPU each device kernel ran on. */
    for (int d = LN_DEVICE_HOST + 1; d < LN_DEVICE_COUNT; d++) {
        const ln_device_ops *dev = ln_device_get((ln_device)d);
        const char *on = dev && dev->describe ? dev->describe() : NULL;
        char key[32];
        snprintf(key, sizeof key, "%s_device", ln_device_name((ln_device)d));
        if (on)
            ln_json_kv_string(j, key, on);
    }
}
