/* fuzz.h — shared by the fuzz harnesses in tests/fuzz/.
 *
 * Each harness defines LLVMFuzzerTestOneInput (libFuzzer's entry point). Built by
 * `make fuzz` with clang -fsanitize=fuzzer,address,undefined it is a fuzzer; built by
 * `make check` with the ordinary compiler it is linked with replay.c, whose main() runs
 * every file of its committed corpus (tests/fuzz/corpus/NAME/) through the same entry
 * point, so the corpus and every reproducer of a fixed crash stay regression tests.
 *
 * The readers under test take a path, so fuzz_path() puts the input in an anonymous
 * memory file (memfd) and names it /proc/self/fd/N: no disk, nothing left behind. */
#ifndef IMDB_FUZZ_H
#define IMDB_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time setup (libFuzzer calls it before the first input; so does replay). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A memory file holding size bytes of data; its path ("/proc/self/fd/N") in path (at
 * least 32 bytes). Returns the descriptor (close it when done), or -1. */
int fuzz_path(const void *data, size_t size, char *path);
/* gzip-compress size bytes into a malloc'd buffer; *out_len its size. */
unsigned char *fuzz_gzip(const void *data, size_t size, size_t *out_len);
#endif
