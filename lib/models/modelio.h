/* modelio.h — the model file container, imdb-model(5).
 *
 *   offset 0   magic "IMDBMODL" (8 bytes)
 *          8   u32 format version (MODELIO_VERSION)
 *         12   u32 number of sections N
 *         16   N directory entries: name (16 bytes, NUL-padded), u64 offset, u64 size
 *              then the section data, each section starting at a multiple of 64
 *   end - 4    u32 CRC-32 (zlib) of every byte before it
 * All integers little-endian. Every model has sections "kind" (e.g. "nblr"), "params"
 * (effective settings, conf_format text) and "clean" (text_settings_format); the rest
 * belong to the model kind. The loader maps the file, checks magic, version (newer is
 * refused), that every section lies inside the file, and the CRC, before anything else. */
#ifndef IMDB_MODELIO_H
#define IMDB_MODELIO_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define MODELIO_VERSION 1

typedef struct modelio_writer modelio_writer;
/* Writes atomically through outfile; refuses a terminal. "-" = stdout. */
modelio_writer *modelio_create(const char *path, imdb_err *e);
/* Data is copied into the writer (or written at commit). name <= 15 bytes, unique. */
int modelio_add(modelio_writer *w, const char *name, const void *data, size_t size, imdb_err *e);
int modelio_add_str(modelio_writer *w, const char *name, const char *s, imdb_err *e);
int modelio_commit(modelio_writer *w, imdb_err *e);   /* frees w */
void modelio_abort(modelio_writer *w);                 /* frees w, removes temp */

typedef struct modelio modelio;
/* Errors: IMDB_EXIT_IO (cannot open/read), IMDB_EXIT_DATA ("not an imdb model file",
 * "truncated", "CRC mismatch", "format version N is newer than this program's 1"). */
modelio *modelio_open(const char *path, imdb_err *e);
/* The same checks on size bytes at data, named name in messages (an ensemble's member,
 * "ens.model:member.0"). data is not copied and must outlive the modelio, unless it is
 * not 64-byte aligned: then it is copied, so that sections stay aligned. */
modelio *modelio_open_mem(const void *data, size_t size, const char *name, imdb_err *e);
/* Section data (64-byte aligned in the mapping) and its size; NULL if absent. */
const void *modelio_get(const modelio *m, const char *name, size_t *size);
/* A text section copied into a NUL-terminated malloc'd string; NULL if absent. */
char *modelio_get_str(const modelio *m, const char *name);
const char *modelio_name(const modelio *m);
void modelio_close(modelio *m);
/* zlib's crc32(crc, data, n) for any n, faster (carry-less multiplication) where the CPU
 * has it; the same value. */
uint32_t modelio_crc32(uint32_t crc, const void *data, size_t n);
#endif
