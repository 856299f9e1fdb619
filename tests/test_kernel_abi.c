/*
 * test_kernel_abi.c - the kernel ABI's own machinery (kernels/registry.c,
 * kernels/device_host.c), apart from any kernel's arithmetic:
 *
 *  - every registered kernel has a unique name fit for a command line, a
 *    family and a description, a valid device, and declares at least
 *    LayerNorm on binary32, with no capability bits beyond the known ones;
 *  - ln_kernel_supports() accepts what a kernel declares and refuses, with
 *    a reason, an operation, dtype or optional tensor it does not declare,
 *    and what its own supports() refuses;
 *  - ln_check_call() refuses tensors that disagree with the descriptor's
 *    tensor bits, short strides and dim 0;
 *  - ln_kernel_run() checks before it prepares, pairs every prepare with a
 *    release, and reports prepare and forward failures;
 *  - ln_kernel_select() by name (repeats dropped), unknown names, kernels
 *    that cannot run here (under LNBENCH_DISABLE_ISA, which the ctest entry
 *    test_kernel_abi_masked sets), and with a descriptor;
 *  - op, dtype and device names round trip;
 *  - the host device's alloc/set/get/synchronize move the bytes;
 *  - kernels/norm_rows.h's ln_round_d rounds a double to bf16/f16 once.
 * Some checks run on kernels defined here, whose capabilities are chosen
 * to exercise the paths that the registry's kernels (which today all take
 * every optional tensor) leave unused.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "cpu_features.h"
#include "lnbench_kernel.h"
#include "norm_rows.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_TENSORS (LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD)
#define ALL_FLAGS \
    (LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES | LN_CAP_PEER | LN_CAP_WIDE_RANGE | \
     LN_CAP_FAITHFUL | LN_CAP_FLUSHES_SUBNORMALS)

static const char *str(const char *s)
{
    return s ? s : "(null)";
}

/* A binary32 LayerNorm descriptor of rows x dim with the given tensors. */
static ln_desc desc_of(size_t rows, size_t dim, unsigned tensors)
{
    ln_desc d = {.op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32, .rows = rows, .dim = dim,
                 .x_stride = dim, .y_stride = dim, .eps = 1e-5f, .tensors = tensors,
                 .store = LN_STORE_AUTO};
    return d;
}

static void test_registry(void)
{
    CHECK(ln_kernel_count >= 4, "only %zu kernels registered", ln_kernel_count);
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const ln_caps *c = &k->caps;
        CHECK(k->name && k->name[0], "kernel %zu has no name", i);
        if (!k->name || !k->name[0])
            continue;
        /* Stable names go on command lines, in comma lists and in result
         * file names: lower case, digits and '_' only. */
        CHECK(strspn(k->name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(k->name),
              "name \"%s\" has characters beyond [a-z0-9_]", k->name);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(k->name, ln_kernels[j]->name) != 0, "name %s registered twice",
                  k->name);
        CHECK(ln_kernel_find(k->name) == k, "ln_kernel_find(\"%s\") finds another kernel",
              k->name);
        CHECK(k->family && k->family[0], "%s has no family", k->name);
        CHECK(k->description && k->description[0] && !strchr(k->description, '\n'),
              "%s: description \"%s\" is not one non-empty line", k->name, str(k->description));
        CHECK(k->forward != NULL, "%s has no forward", k->name);
        CHECK(!k->prepare || k->release, "%s prepares state it cannot release", k->name);
        /* A kernel of a device this build lacks (Metal off Apple) is listed
         * but must say it cannot run. */
        CHECK((unsigned)c->device < LN_DEVICE_COUNT &&
                  (ln_device_get(c->device) != NULL || ln_kernel_unavailable(k) != NULL),
              "%s: device %d has no ops and the kernel claims to run", k->name, (int)c->device);
        CHECK(c->isa >= LN_ISA_NONE && c->isa < LN_ISA_COUNT, "%s: isa %d", k->name,
              (int)c->isa);
        CHECK(c->ops & LN_BIT(LN_OP_LAYERNORM), "%s does not declare LayerNorm", k->name);
        CHECK(c->dtypes & LN_BIT(LN_DTYPE_F32), "%s does not declare f32", k->name);
        CHECK(!(c->ops >> LN_OP_COUNT), "%s: unknown op bits %#x", k->name, c->ops);
        CHECK(!(c->dtypes >> LN_DTYPE_COUNT), "%s: unknown dtype bits %#x", k->name,
              c->dtypes);
        CHECK(!(c->casts >> LN_CAST_COUNT), "%s: unknown cast bits %#x", k->name, c->casts);
        /* llama and gemma are defined for the RMS forms only (ln_desc_valid). */
        CHECK(!c->casts || (c->ops & (LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_RMSNORM))),
              "%s declares casts %#x but no RMS operation", k->name, c->casts);
        CHECK(!(c->tensors & ~ALL_TENSORS), "%s: unknown tensor bits %#x", k->name,
              c->tensors);
        CHECK(!(c->flags & ~ALL_FLAGS), "%s: unknown flag bits %#x", k->name, c->flags);
    }
    CHECK(ln_kernel_find("no_such_kernel") == NULL, "found a kernel that does not exist");
    CHECK(ln_kernel_find("") == NULL, "found a kernel with an empty name");
}

static void test_names(void)
{
    for (int op = 0; op < LN_OP_COUNT; op++)
        CHECK(ln_op_from_name(ln_op_name((ln_op)op)) == op, "op %d: name \"%s\" maps back to %d",
              op, ln_op_name((ln_op)op), ln_op_from_name(ln_op_name((ln_op)op)));
    for (int dt = 0; dt < LN_DTYPE_COUNT; dt++) {
        const char *name = ln_dtype_name((ln_dtype)dt);
        CHECK(ln_dtype_from_name(name) == dt, "dtype %d: name \"%s\" maps back to %d", dt,
              name, ln_dtype_from_name(name));
        for (int other = 0; other < dt; other++)
            CHECK(strcmp(name, ln_dtype_name((ln_dtype)other)) != 0,
                  "dtypes %d and %d share the name %s", other, dt, name);
    }
    for (int c = 0; c < LN_CAST_COUNT; c++)
        CHECK(ln_cast_from_name(ln_cast_name((ln_cast)c)) == c, "cast %d: name \"%s\"", c,
              ln_cast_name((ln_cast)c));
    CHECK(!strcmp(ln_op_name(LN_OP_LAYERNORM), "layernorm") &&
              !strcmp(ln_op_name(LN_OP_RMSNORM), "rmsnorm") &&
              !strcmp(ln_op_name(LN_OP_ADD_LAYERNORM), "add_layernorm") &&
              !strcmp(ln_op_name(LN_OP_ADD_RMSNORM), "add_rmsnorm"),
          "op names %s %s %s %s", ln_op_name(LN_OP_LAYERNORM), ln_op_name(LN_OP_RMSNORM),
          ln_op_name(LN_OP_ADD_LAYERNORM), ln_op_name(LN_OP_ADD_RMSNORM));
    CHECK(!strcmp(ln_cast_name(LN_CAST_SINGLE), "single") &&
              !strcmp(ln_cast_name(LN_CAST_LLAMA), "llama") &&
              !strcmp(ln_cast_name(LN_CAST_GEMMA), "gemma") &&
              ln_cast_from_name("Llama") == -1 && !strcmp(ln_cast_name(LN_CAST_COUNT), "?"),
          "cast names");
    CHECK(ln_op_has_residual(LN_OP_ADD_LAYERNORM) && ln_op_has_residual(LN_OP_ADD_RMSNORM) &&
              !ln_op_has_residual(LN_OP_LAYERNORM) && !ln_op_has_residual(LN_OP_RMSNORM) &&
              ln_op_is_rms(LN_OP_RMSNORM) && ln_op_is_rms(LN_OP_ADD_RMSNORM) &&
              !ln_op_is_rms(LN_OP_LAYERNORM) && !ln_op_is_rms(LN_OP_ADD_LAYERNORM),
          "op parts");
    CHECK(!strcmp(ln_dtype_name(LN_DTYPE_F32), "f32") &&
              !strcmp(ln_dtype_name(LN_DTYPE_BF16), "bf16") &&
              !strcmp(ln_dtype_name(LN_DTYPE_F16), "f16"),
          "dtype names %s %s %s", ln_dtype_name(LN_DTYPE_F32), ln_dtype_name(LN_DTYPE_BF16),
          ln_dtype_name(LN_DTYPE_F16));
    CHECK(!strcmp(ln_device_name(LN_DEVICE_HOST), "host"), "device name %s",
          ln_device_name(LN_DEVICE_HOST));
    CHECK(ln_op_from_name("LayerNorm") == -1 && ln_op_from_name("RMSNorm") == -1 &&
              ln_op_from_name("add") == -1 && ln_op_from_name("") == -1,
          "unknown op names accepted");
    CHECK(ln_dtype_from_name("F32") == -1 && ln_dtype_from_name("fp32") == -1 &&
              ln_dtype_from_name("") == -1,
          "unknown dtype names accepted");
    CHECK(!strcmp(ln_op_name(LN_OP_COUNT), "?") && !strcmp(ln_dtype_name(LN_DTYPE_COUNT), "?") &&
              !strcmp(ln_device_name(LN_DEVICE_COUNT), "?"),
          "out-of-range enums must be named \"?\"");
    CHECK(ln_dtype_size(LN_DTYPE_F32) == 4 && ln_dtype_size(LN_DTYPE_BF16) == 2 &&
              ln_dtype_size(LN_DTYPE_F16) == 2 && ln_dtype_size(LN_DTYPE_COUNT) == 0,
          "dtype sizes %zu %zu %zu %zu", ln_dtype_size(LN_DTYPE_F32),
          ln_dtype_size(LN_DTYPE_BF16), ln_dtype_size(LN_DTYPE_F16),
          ln_dtype_size(LN_DTYPE_COUNT));
}

/* ln_kernel_supports on the registry: what each kernel declares passes,
 * what it does not is refused with a reason. */
static void test_supports_registry(void)
{
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = "unset";
        ln_desc d = desc_of(4, 768, k->caps.tensors);
        CHECK(ln_kernel_supports(k, &d, &why) == 0 && why == NULL,
              "%s refuses its own declared capabilities: %s", k->name, str(why));
        CHECK(ln_kernel_supports(k, &d, NULL) == 0, "%s: why may be NULL", k->name);
        /* The store hint is a hint: every kernel takes every value. */
        for (int hint = LN_STORE_AUTO; hint <= LN_STORE_STREAMING; hint++) {
            d.store = (ln_store_hint)hint;
            CHECK(ln_kernel_supports(k, &d, &why) == 0, "%s refuses store hint %d: %s",
                  k->name, hint, str(why));
        }
        d.store = LN_STORE_AUTO;
        /* Every subset of the declared optional tensors. */
        for (unsigned t = 0; t <= ALL_TENSORS; t++) {
            if (t & ~k->caps.tensors)
                continue;
            d.tensors = t;
            CHECK(ln_kernel_supports(k, &d, &why) == 0, "%s refuses tensors %#x: %s",
                  k->name, t, str(why));
        }
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++) {
            if (k->caps.dtypes & LN_BIT(dt))
                continue;
            d = desc_of(4, 768, 0);
            d.dtype = (ln_dtype)dt;
            why = NULL;
            CHECK(ln_kernel_supports(k, &d, &why) == -1 && why && strstr(why, "dtype"),
                  "%s: undeclared dtype %s not refused with a reason (\"%s\")", k->name,
                  ln_dtype_name((ln_dtype)dt), str(why));
        }
        /* Every operation x dtype x cast: what the caps declare is accepted
         * (or refused by the kernel's own supports() with a reason), what
         * they do not is refused with a reason naming what is missing. */
        for (int op = 0; op < LN_OP_COUNT; op++)
            for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
                for (int cast = 0; cast < LN_CAST_COUNT; cast++) {
                    d = desc_of(4, 768, k->caps.tensors & LN_TENSOR_GAMMA);
                    d.op = (ln_op)op;
                    d.dtype = (ln_dtype)dt;
                    d.cast = (ln_cast)cast;
                    if (ln_desc_valid(&d, NULL) != 0)
                        continue;
                    int declared = (k->caps.ops & LN_BIT(op)) && (k->caps.dtypes & LN_BIT(dt)) &&
                                   (cast == LN_CAST_SINGLE || (k->caps.casts & LN_BIT(cast)));
                    why = NULL;
                    int rc = ln_kernel_supports(k, &d, &why);
                    const char *own = NULL;
                    int own_refuses = k->supports && k->supports(&d, &own) != 0;
                    if (declared && !own_refuses)
                        CHECK(rc == 0 && !why, "%s refuses declared %s %s %s: %s", k->name,
                              ln_op_name(d.op), ln_dtype_name(d.dtype), ln_cast_name(d.cast),
                              str(why));
                    else
                        CHECK(rc == -1 && why && why[0] &&
                                  (declared || strstr(why, "operation") ||
                                   strstr(why, "dtype") || strstr(why, "cast")),
                              "%s: %s %s %s (declared %d) not refused with a reason (\"%s\")",
                              k->name, ln_op_name(d.op), ln_dtype_name(d.dtype),
                              ln_cast_name(d.cast), declared, str(why));
                }
        d = desc_of(4, 768, 0);
        d.op = LN_OP_COUNT;
        why = NULL;
        CHECK(ln_kernel_supports(k, &d, &why) == -1 && why && strstr(why, "operation"),
              "%s: unknown operation not refused (\"%s\")", k->name, str(why));
        d = desc_of(4, 768, 0);
        d.dtype = LN_DTYPE_COUNT;
        CHECK(ln_kernel_supports(k, &d, &why) == -1, "%s: unknown dtype accepted", k->name);
        for (unsigned bit = LN_TENSOR_GAMMA; bit <= LN_TENSOR_RSTD; bit <<= 1) {
            if (k->caps.tensors & bit)
                continue;
            d = desc_of(4, 768, bit);
            why = NULL;
            CHECK(ln_kernel_supports(k, &d, &why) == -1 && why,
                  "%s: undeclared tensor %#x accepted", k->name, bit);
        }
    }
}

/* A kernel made for the test: declares gamma and beta only, refuses dims
 * above 100 in its own supports() (with a reason, or without one when
 * dim is 200), counts its prepares, releases and forwards, and can be
 * told to fail in prepare or forward or to be unavailable. */
static struct {
    int prepares, releases, forwards;
    int fail_prepare, fail_forward;
    const char *unavailable;
    void *last_state;
} probe;

static int probe_state_token;

static const char *probe_unavailable(void)
{
    return probe.unavailable;
}

static int probe_supports(const ln_desc *d, const char **why)
{
    if (d->dim == 200)
        return -1; /* no reason: the registry must supply one */
    if (d->dim > 100) {
        *why = "probe: dim above 100";
        return -1;
    }
    return 0;
}

static int probe_prepare(const ln_desc *d, void **state, const char **why)
{
    (void)d;
    probe.prepares++;
    if (probe.fail_prepare) {
        *why = "probe: prepare refused";
        return -1;
    }
    *state = &probe_state_token;
    return 0;
}

static void probe_release(void *state)
{
    probe.releases++;
    probe.last_state = state;
}

static int probe_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)state;
    probe.forwards++;
    float *y = t->y;
    for (size_t i = 0; i < d->rows; i++)
        for (size_t j = 0; j < d->dim; j++)
            y[i * d->y_stride + j] = 1.0f;
    return probe.fail_forward ? 3 : 0;
}

static const ln_kernel probe_kernel = {
    .name = "probe",
    .family = "test",
    .description = "test_kernel_abi's instrumented kernel",
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA, .flags = 0},
    .unavailable = probe_unavailable,
    .supports = probe_supports,
    .prepare = probe_prepare,
    .release = probe_release,
    .forward = probe_forward,
};

static void test_supports_probe(void)
{
    const ln_kernel *k = &probe_kernel;
    const char *why = NULL;
    ln_desc d = desc_of(2, 50, LN_TENSOR_GAMMA | LN_TENSOR_BETA);
    CHECK(ln_kernel_supports(k, &d, &why) == 0 && !why, "probe refused: %s", str(why));
    d.tensors = LN_TENSOR_GAMMA | LN_TENSOR_MEAN;
    CHECK(ln_kernel_supports(k, &d, &why) == -1 && why, "undeclared mean accepted");
    d.tensors = LN_TENSOR_RSTD;
    CHECK(ln_kernel_supports(k, &d, &why) == -1 && why, "undeclared rstd accepted");
    d = desc_of(2, 150, 0);
    CHECK(ln_kernel_supports(k, &d, &why) == -1 && why && !strcmp(why, "probe: dim above 100"),
          "the kernel's own reason is lost: \"%s\"", str(why));
    d = desc_of(2, 200, 0);
    why = NULL;
    CHECK(ln_kernel_supports(k, &d, &why) == -1 && why && why[0],
          "a refusal without a reason got none");
    d = desc_of(2, 50, 0);
    d.dtype = LN_DTYPE_F16;
    CHECK(ln_kernel_supports(k, &d, &why) == -1 && why && strstr(why, "dtype"),
          "f16 accepted (\"%s\")", str(why));
}

/* t with the optional tensor `bit` taken away. */
static ln_tensors without(ln_tensors t, unsigned bit)
{
    if (bit == LN_TENSOR_GAMMA)
        t.gamma = NULL;
    if (bit == LN_TENSOR_BETA)
        t.beta = NULL;
    if (bit == LN_TENSOR_MEAN)
        t.mean = NULL;
    if (bit == LN_TENSOR_RSTD)
        t.rstd = NULL;
    return t;
}

static void test_check_call(void)
{
    float x[3 * 8] = {0}, y[3 * 8], g[8], b[8], m[3], r[3];
    const char *why;
    ln_desc d = desc_of(3, 8, ALL_TENSORS);
    ln_tensors t = {.x = x, .y = y, .gamma = g, .beta = b, .mean = m, .rstd = r};
    why = "unset";
    CHECK(ln_check_call(&d, &t, &why) == 0 && why == NULL, "good call refused: %s", str(why));
    CHECK(ln_check_call(&d, &t, NULL) == 0, "why may be NULL");

    /* Each optional tensor: bit set but pointer NULL, and the reverse. */
    for (unsigned bit = LN_TENSOR_GAMMA; bit <= LN_TENSOR_RSTD; bit <<= 1) {
        ln_tensors u = without(t, bit);
        why = NULL;
        CHECK(ln_check_call(&d, &u, &why) == -1 && why, "tensor %#x: bit set, pointer NULL",
              bit);
        ln_desc e = d;
        e.tensors &= ~bit;
        why = NULL;
        CHECK(ln_check_call(&e, &t, &why) == -1 && why, "tensor %#x: bit clear, pointer set",
              bit);
        CHECK(ln_check_call(&e, &u, &why) == 0, "tensor %#x: bit clear, pointer NULL: %s", bit,
              str(why));
    }
    ln_desc e = d;
    e.x_stride = 7;
    why = NULL;
    CHECK(ln_check_call(&e, &t, &why) == -1 && why && strstr(why, "stride"),
          "x stride below dim accepted (\"%s\")", str(why));
    e = d;
    e.y_stride = 7;
    why = NULL;
    CHECK(ln_check_call(&e, &t, &why) == -1 && why && strstr(why, "stride"),
          "y stride below dim accepted (\"%s\")", str(why));
    e = d;
    e.x_stride = e.y_stride = 9; /* longer strides are fine */
    e.rows = 2;
    CHECK(ln_check_call(&e, &t, &why) == 0, "strides above dim refused: %s", str(why));
    e = d;
    e.dim = 0;
    e.x_stride = e.y_stride = 0;
    CHECK(ln_check_call(&e, &t, &why) == -1, "dim 0 accepted");
    ln_tensors u = t;
    u.x = NULL;
    CHECK(ln_check_call(&d, &u, &why) == -1, "x NULL accepted");
    u = t;
    u.y = NULL;
    CHECK(ln_check_call(&d, &u, &why) == -1, "y NULL accepted");
    /* No rows: nothing is read or written, so x and y may be absent. */
    e = desc_of(0, 8, 0);
    ln_tensors none = {0};
    CHECK(ln_check_call(&e, &none, &why) == 0, "zero rows without x, y refused: %s",
          str(why));

    /* The add_ ops need residual and h; the others must not get them. */
    float res[3 * 8] = {0}, h[3 * 8];
    e = desc_of(3, 8, LN_TENSOR_GAMMA | LN_TENSOR_BETA);
    e.op = LN_OP_ADD_LAYERNORM;
    u = without(without(t, LN_TENSOR_MEAN), LN_TENSOR_RSTD);
    why = NULL;
    CHECK(ln_check_call(&e, &u, &why) == -1 && why && strstr(why, "residual"),
          "add_layernorm without residual accepted (\"%s\")", str(why));
    u.residual = res;
    u.h = h;
    CHECK(ln_check_call(&e, &u, &why) == 0, "add_layernorm with residual refused: %s",
          str(why));
    e.op = LN_OP_LAYERNORM;
    why = NULL;
    CHECK(ln_check_call(&e, &u, &why) == -1 && why && strstr(why, "residual"),
          "layernorm with a residual accepted (\"%s\")", str(why));
}

/* ln_desc_valid: what has no meaning is refused before any kernel sees it. */
static void test_desc_valid(void)
{
    const char *why;
    ln_desc d = desc_of(2, 8, LN_TENSOR_GAMMA);
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int c = 0; c < LN_CAST_COUNT; c++) {
            d.op = (ln_op)op;
            d.cast = (ln_cast)c;
            int ok = c == LN_CAST_SINGLE || ln_op_is_rms((ln_op)op);
            why = NULL;
            CHECK((ln_desc_valid(&d, &why) == 0) == ok && (ok || (why && strstr(why, "cast"))),
                  "op %s cast %s: valid %d expected %d (\"%s\")", ln_op_name((ln_op)op),
                  ln_cast_name((ln_cast)c), !ok, ok, str(why));
        }
    d = desc_of(2, 8, LN_TENSOR_GAMMA | LN_TENSOR_BETA);
    d.op = LN_OP_RMSNORM;
    CHECK(ln_desc_valid(&d, &why) == -1 && why && strstr(why, "beta"), "rmsnorm with beta");
    d = desc_of(2, 8, LN_TENSOR_MEAN);
    d.op = LN_OP_ADD_RMSNORM;
    CHECK(ln_desc_valid(&d, &why) == -1, "add_rmsnorm with a mean output");
    d = desc_of(2, 8, 0);
    d.cast = LN_CAST_COUNT;
    CHECK(ln_desc_valid(&d, &why) == -1 && why && strstr(why, "cast"), "unknown cast");
}

static void test_run(void)
{
    const ln_kernel *k = &probe_kernel;
    float x[2 * 8] = {0}, y[2 * 8], g[8], b[8], m[2];
    const char *why;
    ln_desc d = desc_of(2, 8, LN_TENSOR_GAMMA);
    ln_tensors t = {.x = x, .y = y, .gamma = g};

    memset(&probe, 0, sizeof probe);
    memset(y, 0, sizeof y);
    why = "unset";
    CHECK(ln_kernel_run(k, &d, &t, &why) == 0, "run failed: %s", str(why));
    CHECK(probe.prepares == 1 && probe.forwards == 1 && probe.releases == 1,
          "prepare/forward/release ran %d/%d/%d times", probe.prepares, probe.forwards,
          probe.releases);
    CHECK(probe.last_state == &probe_state_token, "release did not get prepare's state");
    CHECK(y[0] == 1.0f && y[15] == 1.0f, "forward's output is not in y");

    /* Refusals before prepare: a call that fails ln_check_call, a
     * descriptor the kernel does not support, an unavailable kernel. */
    struct {
        const char *what;
        ln_desc d;
        ln_tensors t;
        const char *unavailable;
    } refused[] = {
        {"gamma bit without a pointer", d, {.x = x, .y = y}, NULL},
        {"beta pointer without its bit", d, {.x = x, .y = y, .gamma = g, .beta = b}, NULL},
        {"undeclared mean", desc_of(2, 8, LN_TENSOR_MEAN), {.x = x, .y = y, .mean = m}, NULL},
        {"dim the kernel refuses", desc_of(0, 150, 0), {.x = x, .y = y}, NULL},
        {"unavailable kernel", d, t, "probe: switched off"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        memset(&probe, 0, sizeof probe);
        probe.unavailable = refused[i].unavailable;
        why = NULL;
        CHECK(ln_kernel_run(k, &refused[i].d, &refused[i].t, &why) == -1 && why,
              "%s: run did not refuse", refused[i].what);
        CHECK(probe.prepares == 0 && probe.forwards == 0,
              "%s: prepare/forward ran %d/%d times", refused[i].what, probe.prepares,
              probe.forwards);
        if (refused[i].unavailable)
            CHECK(why && !strcmp(why, refused[i].unavailable),
                  "unavailable kernel's reason lost: \"%s\"", str(why));
    }
    memset(&probe, 0, sizeof probe);

    /* A failing prepare: its reason, no forward, nothing to release. */
    probe.fail_prepare = 1;
    why = NULL;
    CHECK(ln_kernel_run(k, &d, &t, &why) == -1 && why && !strcmp(why, "probe: prepare refused"),
          "prepare failure reported as \"%s\"", str(why));
    CHECK(probe.forwards == 0 && probe.releases == 0, "after a failed prepare: %d forwards, "
          "%d releases", probe.forwards, probe.releases);
    memset(&probe, 0, sizeof probe);

    /* A failing forward: reported, and the state still released. */
    probe.fail_forward = 1;
    why = NULL;
    CHECK(ln_kernel_run(k, &d, &t, &why) != 0 && why, "forward failure not reported");
    CHECK(probe.releases == 1, "state not released after a failed forward (%d)",
          probe.releases);
    memset(&probe, 0, sizeof probe);
}

/* Is k in list[0..n)? */
static int listed(const ln_kernel *const *list, size_t n, const ln_kernel *k)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == k)
            return 1;
    return 0;
}

static void test_select(void)
{
    const ln_kernel **out = calloc(ln_kernel_count, sizeof *out);
    char err[256];
    size_t n = 99;
    if (!out) {
        CHECK_FAIL("out of memory");
        return;
    }

    /* The default list: every kernel this host can run, registry order. */
    CHECK(ln_kernel_select(NULL, 0, NULL, out, &n, err, sizeof err) == 0, "default: %s", err);
    size_t want = 0;
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        if (ln_kernel_unavailable(k)) {
            CHECK(!listed(out, n, k), "default list holds %s, which cannot run here: %s",
                  k->name, ln_kernel_unavailable(k));
            continue;
        }
        CHECK(want < n && out[want] == k, "default list: entry %zu is not %s", want, k->name);
        want++;
    }
    CHECK(n == want, "default list has %zu kernels, want %zu", n, want);

    /* By name (the registry's last two portable kernels, which every build
     * has): order kept, repeats dropped. */
    const ln_kernel *pa = NULL, *pb = NULL;
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (ln_kernels[i]->caps.isa == LN_ISA_NONE && !(ln_kernels[i]->caps.flags & LN_CAP_PEER) &&
            ln_kernels[i]->caps.device == LN_DEVICE_HOST) {
            pb = pa;
            pa = ln_kernels[i];
        }
    CHECK(pa && pb, "fewer than two portable kernels");
    if (!pa || !pb)
        return;
    char na[64], nb[64], nx[] = "no_such_kernel";
    snprintf(na, sizeof na, "%s", pa->name);
    snprintf(nb, sizeof nb, "%s", pb->name);
    char *names[] = {na, nb, na};
    CHECK(ln_kernel_select(names, 3, NULL, out, &n, err, sizeof err) == 0, "by name: %s", err);
    CHECK(n == 2 && out[0] == pa && out[1] == pb, "by name: %zu kernels, first %s", n,
          n ? out[0]->name : "-");

    /* An unknown name: an error naming it. */
    char *unknown[] = {nb, nx};
    err[0] = '\0';
    CHECK(ln_kernel_select(unknown, 2, NULL, out, &n, err, sizeof err) == -1 &&
              strstr(err, "no_such_kernel") && strstr(err, "unknown") && !strchr(err, '\n'),
          "unknown name: \"%s\"", err);

    /* With a descriptor: the default list is exactly the available kernels
     * that support it, for every dtype; a named kernel that cannot compute
     * it is an error naming the kernel and the reason. */
    ln_desc f32 = desc_of(8, 768, ALL_TENSORS);
    CHECK(ln_kernel_select(NULL, 0, &f32, out, &n, err, sizeof err) == 0, "f32: %s", err);
    CHECK(n > 0, "no kernel selected for binary32 LayerNorm with every tensor");
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++) {
            ln_desc dd = desc_of(8, 768, LN_TENSOR_GAMMA);
            dd.op = (ln_op)op;
            dd.dtype = (ln_dtype)dt;
            CHECK(ln_kernel_select(NULL, 0, &dd, out, &n, err, sizeof err) == 0, "%s %s: %s",
                  ln_op_name(dd.op), ln_dtype_name(dd.dtype), err);
            want = 0;
            for (size_t i = 0; i < ln_kernel_count; i++) {
                const ln_kernel *k = ln_kernels[i];
                if (ln_kernel_unavailable(k) || ln_kernel_supports(k, &dd, NULL) != 0) {
                    CHECK(!listed(out, n, k), "%s %s selects %s, which cannot compute it",
                          ln_op_name(dd.op), ln_dtype_name(dd.dtype), k->name);
                    continue;
                }
                CHECK(want < n && out[want] == k, "%s %s: entry %zu is not %s",
                      ln_op_name(dd.op), ln_dtype_name(dd.dtype), want, k->name);
                want++;
            }
            CHECK(n == want, "%s %s selects %zu kernels, want %zu", ln_op_name(dd.op),
                  ln_dtype_name(dd.dtype), n, want);
            /* A named kernel that cannot compute it. */
            for (size_t i = 0; i < ln_kernel_count; i++) {
                const ln_kernel *k = ln_kernels[i];
                const char *why = NULL;
                if (ln_kernel_unavailable(k) || ln_kernel_supports(k, &dd, &why) == 0)
                    continue;
                char *one[] = {(char *)k->name};
                err[0] = '\0';
                CHECK(ln_kernel_select(one, 1, &dd, out, &n, err, sizeof err) == -1 &&
                          strstr(err, k->name) && strstr(err, ln_dtype_name(dd.dtype)) &&
                          strstr(err, ln_op_name(dd.op)) && strstr(err, why) &&
                          !strchr(err, '\n'),
                      "%s named for %s %s: \"%s\"", k->name, ln_op_name(dd.op),
                      ln_dtype_name(dd.dtype), err);
            }
        }
    char *one[] = {na};
    CHECK(ln_kernel_select(one, 1, &f32, out, &n, err, sizeof err) == 0 && n == 1,
          "%s for f32: %s", na, err);

    /* Kernels that cannot run here: named, an error with the reason; under
     * LNBENCH_DISABLE_ISA (test_kernel_abi_masked) every ISA kernel is one. */
    const char *mask = getenv("LNBENCH_DISABLE_ISA");
    size_t isa_kernels = 0, unavailable = 0;
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = ln_kernel_unavailable(k);
        isa_kernels += k->caps.isa != LN_ISA_NONE;
        if (mask && !strcmp(mask, "all") && k->caps.isa != LN_ISA_NONE)
            CHECK(why && strstr(why, "LNBENCH_DISABLE_ISA"),
                  "%s (%s) runs under LNBENCH_DISABLE_ISA=all: %s", k->name,
                  ln_isa_name(k->caps.isa), str(why));
        char *name[] = {(char *)k->name};
        err[0] = '\0';
        int rc = ln_kernel_select(name, 1, NULL, out, &n, err, sizeof err);
        if (why) {
            unavailable++;
            CHECK(rc == -1 && strstr(err, k->name) && strstr(err, why),
                  "%s cannot run here (%s) but selecting it gave %d \"%s\"", k->name, why, rc,
                  err);
        } else {
            CHECK(rc == 0 && n == 1 && out[0] == k, "%s: %s", k->name, err);
        }
    }
    if (mask && !strcmp(mask, "all"))
        CHECK(isa_kernels > 0 && unavailable >= isa_kernels,
              "with every ISA masked only %zu of %zu ISA kernels are unavailable", unavailable,
              isa_kernels);
    printf("%zu kernels, %zu for an ISA, %zu unavailable here%s%s\n", ln_kernel_count,
           isa_kernels, unavailable, mask ? " with LNBENCH_DISABLE_ISA=" : "",
           mask ? mask : "");
    free(out);
}

static void test_host_device(void)
{
    const ln_device_ops *dev = ln_device_get(LN_DEVICE_HOST);
    CHECK(dev != NULL, "no host device");
    CHECK(ln_device_get(LN_DEVICE_COUNT) == NULL, "a device beyond the enum");
    if (!dev)
        return;
    CHECK(dev->name && !strcmp(dev->name, ln_device_name(LN_DEVICE_HOST)), "host device \"%s\"",
          str(dev->name));
    static const size_t sizes[] = {1, 3, 64, 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t nb = sizes[i];
        unsigned char *src = malloc(nb), *back = malloc(nb);
        void *buf = dev->alloc(nb);
        CHECK(buf != NULL, "alloc(%zu) failed", nb);
        if (!buf || !src || !back) {
            free(src);
            free(back);
            if (buf)
                dev->free(buf);
            continue;
        }
        /* 64 bytes, a cache line and a zmm register (device_host.c). */
        CHECK((uintptr_t)buf % 64 == 0, "alloc(%zu) at %p is not 64-byte aligned", nb, buf);
        for (size_t j = 0; j < nb; j++) {
            src[j] = (unsigned char)(j * 7 + 1);
            back[j] = 0;
        }
        CHECK(dev->set(buf, src, nb) == 0, "set %zu bytes", nb);
        CHECK(dev->synchronize() == 0, "synchronize after set");
        CHECK(dev->get(back, buf, nb) == 0, "get %zu bytes", nb);
        CHECK(dev->synchronize() == 0, "synchronize after get");
        CHECK(memcmp(src, back, nb) == 0, "%zu bytes did not make the round trip", nb);
        dev->free(buf);
        free(src);
        free(back);
    }
}

/* The dtype value nearest to v (ties to even), by comparing the three
 * candidates around the binary32 guess: independent of ln_round_d. */
static float nearest_in(ln_dtype dt, double v)
{
    float guess = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(ln_f32_to_bf16((float)v))
                                      : ln_f16_to_f32(ln_f32_to_f16((float)v));
    uint16_t g = dt == LN_DTYPE_BF16 ? ln_f32_to_bf16(guess) : ln_f32_to_f16(guess);
    float best = guess;
    for (int step = -1; step <= 1; step += 2) {
        uint16_t u = (uint16_t)(g + step); /* positive values: the next one up/down */
        float c = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(u) : ln_f16_to_f32(u);
        double dc = fabs((double)c - v), db = fabs((double)best - v);
        uint16_t bu = dt == LN_DTYPE_BF16 ? ln_f32_to_bf16(best) : ln_f32_to_f16(best);
        if (dc < db || (dc == db && !(u & 1) && (bu & 1)))
            best = c;
    }
    return best;
}

/* norm_rows.h's ln_round_d rounds a double to bf16/f16 once.  Values just
 * beside a midpoint of two dtype values, which a plain (float) cast would
 * round onto the midpoint (and then to even, maybe the wrong way), and the
 * midpoints themselves (ties to even). */
static void test_round_once(void)
{
    uint64_t s = 12345;
    int wrong = 0, naive_wrong = 0;
    for (int dt = LN_DTYPE_BF16; dt <= LN_DTYPE_F16; dt++)
        for (int i = 0; i < 20000; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            /* a positive normal dtype value, its ulp, the midpoint above */
            uint16_t u = dt == LN_DTYPE_BF16 ? (uint16_t)(0x0080 + (s >> 33) % 0x7e00)
                                             : (uint16_t)(0x0400 + (s >> 33) % 0x7000);
            double b = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(u) : ln_f16_to_f32(u);
            double next = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32((uint16_t)(u + 1))
                                              : ln_f16_to_f32((uint16_t)(u + 1));
            double mid = (b + next) / 2;
            double off = (next - b) * 0x1p-20 * (double)((int)(s >> 60 & 3) - 1); /* -1, 0, 1, 2 */
            double v = mid + off;
            float want = nearest_in((ln_dtype)dt, v);
            float got = ln_round_d((ln_dtype)dt, v);
            float naive = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(ln_f32_to_bf16((float)v))
                                              : ln_f16_to_f32(ln_f32_to_f16((float)v));
            wrong += got != want;
            naive_wrong += naive != want;
            if (got != want && wrong <= 3)
                CHECK_FAIL("ln_round_d(%s, %.17g) = %.9g, nearest %.9g",
                           ln_dtype_name((ln_dtype)dt), v, got, want);
        }
    CHECK(wrong == 0, "ln_round_d: %d of 40000 not rounded once", wrong);
    /* The test can fail: rounding to binary32 first is wrong on many. */
    CHECK(naive_wrong > 0, "no value where rounding twice differs: the test tests nothing");
    CHECK(ln_round_d(LN_DTYPE_F16, 65519.99) == 65504.0f &&
              isinf(ln_round_d(LN_DTYPE_F16, 65520.0)) &&
              isinf(ln_round_d(LN_DTYPE_BF16, 1e300)) && ln_round_d(LN_DTYPE_BF16, 1e-300) == 0 &&
              isnan(ln_round_d(LN_DTYPE_BF16, NAN)) && ln_round_d(LN_DTYPE_F32, 0.1) == 0.1f,
          "ln_round_d at the ends of the range");
}

int main(void)
{
    test_round_once();
    test_registry();
    test_names();
    test_supports_registry();
    test_supports_probe();
    test_check_call();
    test_desc_valid();
    test_run();
    test_select();
    test_host_device();
    return CHECK_DONE("test_kernel_abi");
}
