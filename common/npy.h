/*
 * npy.h - read and write NumPy .npy files of binary32 (format 1.0/2.0/3.0,
 * little-endian '<f4', C order), so users can feed their own activations
 * and re-check our numbers with their own tools.
 */
#ifndef LNBENCH_NPY_H
#define LNBENCH_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write a 2-D (ndim 2: rows x dim) or 1-D (ndim 1: dim) '<f4' array to an
 * open stream; data rows are `stride` floats apart.  Returns 0 or -1 (I/O
 * error; errno set). */
int ln_npy_write(FILE *f, const float *data, size_t rows, size_t dim,
                 size_t stride, int ndim);

/* Read a '<f4' C-order array of 1 or 2 dimensions.  A 1-D array of n reads
 * as rows = 1, dim = n.  *data is malloc'd (caller frees).  Returns 0, or -1
 * with a one-line reason in err ("not a .npy file", "dtype is '<f8', need
 * '<f4' (binary32)", "Fortran order is not supported", "file is truncated:
 * header promises N bytes", ...).  The message does not name the file:
 * callers prefix the path.  Versions 1.0, 2.0 and 3.0 are read; an empty
 * array (a 0 in the shape) and bytes after the data are errors too. */
int ln_npy_read(const char *path, float **data, size_t *rows, size_t *dim,
                int *ndim, char *err, size_t errlen);

/* The element types of ln_npy_read_typed.  NumPy has no bfloat16 of its
 * own (ml_dtypes' bfloat16 saves as a void type), so bfloat16 arrays come
 * as '<u2' bit patterns: x.view(numpy.uint16). */
typedef enum ln_npy_type {
    LN_NPY_F32 = 0,  /* '<f4' */
    LN_NPY_F16,      /* '<f2', IEEE binary16 */
    LN_NPY_BF16_BITS /* '<u2', bfloat16 bit patterns */
} ln_npy_type;

/* ln_npy_read of a file whose descr must be type's (else -1: "dtype is
 * '<f4' (...), need '<f2' (fp16, ...)"); values are widened exactly to
 * binary32. */
int ln_npy_read_typed(const char *path, ln_npy_type type, float **data, size_t *rows,
                      size_t *dim, int *ndim, char *err, size_t errlen);

/* The shape in path's header, without reading (or checking) the data, so
 * a caller can refuse an array too large for memory before loading it:
 * rows = 1 for a 1-D array; *ndim as stored.  Same errors as ln_npy_read for
 * a file that is not a regular .npy file. */
int ln_npy_peek_shape(const char *path, uint64_t *rows, uint64_t *dim, int *ndim, char *err,
                      size_t errlen);

#endif
