/*
 * cmd_list.c - `lnbench list`: every kernel in the registry, whether this
 * host can run it (and if not, why) and what it can compute (its ln_caps).
 *
 * The first three columns (kernel, family, available) are read by scripts
 * (scripts/icount): keep their order and widths.
 */
#include "args.h"
#include "commands.h"
#include "cpu_features.h"
#include "json.h"
#include "lnbench_kernel.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char list_help[] =
    "usage: lnbench list [--json]\n"
    "\n"
    "Lists every kernel in the registry: its family, whether this host can run\n"
    "it (and if not, why), then its capabilities: the operations and dtypes it\n"
    "computes, its device, the instruction set it needs (- for portable C), the\n"
    "optional tensors it accepts and its promises (exact_constant: a constant\n"
    "row gives exactly beta; streaming_stores: non-temporal stores on request;\n"
    "peer: another library's implementation; wide_range: right on rows whose\n"
    "squares overflow binary32; faithful: within 1 ulp where the result does\n"
    "not cancel), and a one-line description.\n"
    "Kernels masked with LNBENCH_DISABLE_ISA show as unavailable.\n"
    "\n"
    "options:\n"
    "  --json      the same as one JSON document on stdout (with the ISAs this\n"
    "              host lets a run use), for scripts\n"
    "  -h, --help  this text\n"
    "\n"
    "Exit status: 0 listed, 2 bad usage.\n";

/* Names of the bits of ln_caps.tensors and ln_caps.flags. */
typedef struct bit_name {
    unsigned bit;
    const char *name;
} bit_name;

static const bit_name tensor_names[] = {
    {LN_TENSOR_GAMMA, "gamma"},
    {LN_TENSOR_BETA, "beta"},
    {LN_TENSOR_MEAN, "mean"},
    {LN_TENSOR_RSTD, "rstd"},
};

static const bit_name flag_names[] = {
    {LN_CAP_EXACT_CONSTANT, "exact_constant"},
    {LN_CAP_STREAMING_STORES, "streaming_stores"},
    {LN_CAP_PEER, "peer"},
    {LN_CAP_WIDE_RANGE, "wide_range"},
    {LN_CAP_FAITHFUL, "faithful"},
    {LN_CAP_FLUSHES_SUBNORMALS, "flushes_subnormals"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A comma list of the names of a bit set's members ("-" when empty). */
static const char *join_bits(unsigned set, const bit_name *names, size_t n, char *buf,
                             size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        if (set & names[i].bit)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                     names[i].name);
    return buf[0] ? buf : "-";
}

static const char *join_ops(unsigned set, char *buf, size_t len)
{
    bit_name names[LN_OP_COUNT];
    for (int i = 0; i < LN_OP_COUNT; i++)
        names[i] = (bit_name){LN_BIT(i), ln_op_name((ln_op)i)};
    return join_bits(set, names, LN_OP_COUNT, buf, len);
}

static const char *join_dtypes(unsigned set, char *buf, size_t len)
{
    bit_name names[LN_DTYPE_COUNT];
    for (int i = 0; i < LN_DTYPE_COUNT; i++)
        names[i] = (bit_name){LN_BIT(i), ln_dtype_name((ln_dtype)i)};
    return join_bits(set, names, LN_DTYPE_COUNT, buf, len);
}

static const char *isa_of(const ln_kernel *k)
{
    return k->caps.isa == LN_ISA_NONE ? NULL : ln_isa_name(k->caps.isa);
}

/* One kernel's capability cells, in column order. */
enum { COL_OPS, COL_DTYPES, COL_DEVICE, COL_ISA, COL_TENSORS, COL_FLAGS, NCOLS };
static const char *const col_title[NCOLS] = {"ops", "dtypes", "device", "isa", "tensors",
                                             "flags"};

static void cap_cells(const ln_kernel *k, char buf[NCOLS][96], const char *cell[NCOLS])
{
    const ln_caps *c = &k->caps;
    cell[COL_OPS] = join_ops(c->ops, buf[COL_OPS], sizeof buf[0]);
    cell[COL_DTYPES] = join_dtypes(c->dtypes, buf[COL_DTYPES], sizeof buf[0]);
    cell[COL_DEVICE] = ln_device_name(c->device);
    cell[COL_ISA] = isa_of(k) ? isa_of(k) : "-";
    cell[COL_TENSORS] =
        join_bits(c->tensors, tensor_names, COUNT(tensor_names), buf[COL_TENSORS], sizeof buf[0]);
    cell[COL_FLAGS] =
        join_bits(c->flags, flag_names, COUNT(flag_names), buf[COL_FLAGS], sizeof buf[0]);
}

/* The kernel's description; a device kernel's names the device it runs on
 * ("[on Portable Computing Language: pthread-...]") when there is one. */
static const char *description_of(const ln_kernel *k, char *buf, size_t len)
{
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    const char *on = k->caps.device != LN_DEVICE_HOST && dev && dev->describe ? dev->describe()
                                                                              : NULL;
    if (!on)
        return k->description;
    snprintf(buf, len, "%s [on %s]", k->description, on);
    return buf;
}

static void print_table(void)
{
    /* Capability columns as wide as their widest cell. */
    int width[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        width[c] = (int)strlen(col_title[c]);
    for (size_t i = 0; i < ln_kernel_count; i++) {
        char buf[NCOLS][96];
        const char *cell[NCOLS];
        cap_cells(ln_kernels[i], buf, cell);
        for (int c = 0; c < NCOLS; c++)
            if ((int)strlen(cell[c]) > width[c])
                width[c] = (int)strlen(cell[c]);
    }
    /* `available` at least 40 wide, wider for a longer reason; two spaces
     * after it: its reasons contain single spaces. */
    int avail_width = 40;
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const char *why = ln_kernel_unavailable(ln_kernels[i]);
        if (why && (int)strlen(why) + 4 > avail_width)
            avail_width = (int)strlen(why) + 4;
    }
    printf("%-20s %-8s %-*s ", "kernel", "family", avail_width, "available");
    for (int c = 0; c < NCOLS; c++)
        printf(" %-*s", width[c], col_title[c]);
    printf(" %s\n", "description");
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = ln_kernel_unavailable(k);
        char avail[128], buf[NCOLS][96];
        const char *cell[NCOLS];
        snprintf(avail, sizeof avail, "%s%s", why ? "no: " : "yes", why ? why : "");
        cap_cells(k, buf, cell);
        printf("%-20s %-8s %-*s ", k->name, k->family, avail_width, avail);
        for (int c = 0; c < NCOLS; c++)
            printf(" %-*s", width[c], cell[c]);
        char desc[512];
        printf(" %s\n", description_of(k, desc, sizeof desc));
    }
}

static void json_bits(ln_json *j, const char *key, unsigned set, const bit_name *names,
                      size_t n)
{
    ln_json_key(j, key);
    ln_json_begin_array(j);
    for (size_t i = 0; i < n; i++)
        if (set & names[i].bit)
            ln_json_string(j, names[i].name);
    ln_json_end_array(j);
}

static void print_json(void)
{
    ln_json j;
    ln_json_init(&j, stdout, 2);
    ln_json_begin_object(&j);
    ln_json_kv_int(&j, "lnbench_list", 1);
    const char *isas[LN_ISA_COUNT];
    size_t nisas = cli_isas(isas, LN_ISA_COUNT);
    ln_json_key(&j, "isas");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < nisas; i++)
        ln_json_string(&j, isas[i]);
    ln_json_end_array(&j);
    ln_json_key(&j, "kernels");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const ln_caps *c = &k->caps;
        const char *why = ln_kernel_unavailable(k);
        ln_json_begin_object(&j);
        ln_json_kv_string(&j, "name", k->name);
        ln_json_kv_string(&j, "family", k->family);
        ln_json_kv_bool(&j, "available", why == NULL);
        ln_json_kv_string(&j, "unavailable", why); /* null when available */
        ln_json_key(&j, "ops");
        ln_json_begin_array(&j);
        for (int op = 0; op < LN_OP_COUNT; op++)
            if (c->ops & LN_BIT(op))
                ln_json_string(&j, ln_op_name((ln_op)op));
        ln_json_end_array(&j);
        ln_json_key(&j, "dtypes");
        ln_json_begin_array(&j);
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            if (c->dtypes & LN_BIT(dt))
                ln_json_string(&j, ln_dtype_name((ln_dtype)dt));
        ln_json_end_array(&j);
        ln_json_kv_string(&j, "device", ln_device_name(c->device));
        ln_json_kv_string(&j, "isa", isa_of(k)); /* null: portable C */
        json_bits(&j, "tensors", c->tensors, tensor_names, COUNT(tensor_names));
        json_bits(&j, "flags", c->flags, flag_names, COUNT(flag_names));
        char desc[512];
        ln_json_kv_string(&j, "description", description_of(k, desc, sizeof desc));
        ln_json_end_object(&j);
    }
    ln_json_end_array(&j);
    ln_json_end_object(&j);
}

enum { OPT_JSON = 256 };

static const struct option list_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_list(int argc, char **argv)
{
    char err[256];
    int c, json = 0;
    /* '+': stop at the first operand; ':': a missing value is ':'. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", list_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(list_help, stdout);
            return 0;
        case OPT_JSON:
            json = 1;
            break;
        default:
            ln_getopt_error(c, argv, list_options, err, sizeof err);
            fprintf(stderr, "lnbench list: %s\n", err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lnbench list: unexpected argument '%.64s' (try --help)\n",
                argv[optind]);
        return 2;
    }
    if (json)
        print_json();
    else
        print_table();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lnbench list: cannot write the output\n");
        return 1;
    }
    return 0;
}
