/* modelio.c — see modelio.h and imdb-model(5). The whole file is mapped read-only; the
 * model kinds use the float and integer arrays in place, so loading costs one mmap and
 * one CRC pass (PCLMULQDQ-folded where the CPU has it). */
#include "modelio.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "IMDBMODL"
#define ALIGN 64
#define NAMELEN 16
#define DIRENT (NAMELEN + 16)
#define MAXSEC 256

/* ---- CRC-32 ----------------------------------------------------------------------
 * zlib's CRC-32, 4x faster where the CPU can multiply carry-less (PCLMULQDQ): the CRC is
 * what a model load spends its time on ("Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ", Gopal et al., Intel 2009). zlib's crc32 is the reference
 * (tests/unit_modelio.c compares them). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc_clmul(uint32_t crc, const unsigned char *p, size_t n)
{
    /* n >= 64. Four 128-bit lanes fold 64 bytes at a time (constants x^(512+-32) and
     * x^(128+-32) mod P, bit-reflected, as in Intel's paper and Linux's crc32-pclmul);
     * the last 16-byte remainder and the tail go through zlib. */
    const __m128i k12 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
    const __m128i k34 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p), x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32)), x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    p += 64; n -= 64;
#define FOLD(x, k, d) _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), d)
    while (n >= 64) {
        x0 = FOLD(x0, k12, _mm_loadu_si128((const __m128i *)p));
        x1 = FOLD(x1, k12, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = FOLD(x2, k12, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = FOLD(x3, k12, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64; n -= 64;
    }
    x1 = FOLD(x0, k34, x1);
    x2 = FOLD(x1, k34, x2);
    x3 = FOLD(x2, k34, x3);
    while (n >= 16) {
        x3 = FOLD(x3, k34, _mm_loadu_si128((const __m128i *)p));
        p += 16; n -= 16;
    }
#undef FOLD
    unsigned char buf[16];
    _mm_storeu_si128((__m128i *)buf, x3);
    uLong c = crc32(0xFFFFFFFFUL, buf, 16);   /* = ~raw(0, buf) */
    return (uint32_t)crc32(c, p, (uInt)n);   /* n < 16 */
}
#endif
uint32_t modelio_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
#if defined(__x86_64__) && defined(__GNUC__)
    if (n >= 64 && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) return crc_clmul(crc, p, n);
#endif
    while (n > 0) {   /* crc32 takes a uInt length */
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        crc = (uint32_t)crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

typedef struct section {
    char name[NAMELEN];
    unsigned char *data;
    size_t size;
} section;

struct modelio_writer {
    outfile *out;
    section sec[MAXSEC];
    int n;
};

modelio_writer *modelio_create(const char *path, imdb_err *e)
{
    outfile *o = outfile_open(path, 0, e);
    if (!o) return NULL;
    if (outfile_refuse_tty(o, e) < 0) { outfile_abort(o); return NULL; }
    modelio_writer *w = imdb_xcalloc(1, sizeof *w);
    w->out = o;
    return w;
}

int modelio_add(modelio_writer *w, const char *name, const void *data, size_t size, imdb_err *e)
{
    if (strlen(name) >= NAMELEN)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "model section name '%s' too long", name);
    if (w->n == MAXSEC)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "too many model sections");
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->sec[i].name, name) == 0)
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "duplicate model section '%s'", name);
    section *s = &w->sec[w->n++];
    memset(s->name, 0, NAMELEN);
    memcpy(s->name, name, strlen(name));
    s->data = imdb_xmalloc(size);
    if (size) memcpy(s->data, data, size);
    s->size = size;
    return 0;
}

int modelio_add_str(modelio_writer *w, const char *name, const char *s, imdb_err *e)
{
    return modelio_add(w, name, s, strlen(s), e);
}

static void free_sections(modelio_writer *w)
{
    for (int i = 0; i < w->n; i++) free(w->sec[i].data);
}

/* Write n bytes and fold them into the CRC. */
static int put(modelio_writer *w, uLong *crc, const void *p, size_t n, imdb_err *e)
{
    *crc = modelio_crc32((uint32_t)*crc, p, n);
    return outfile_write(w->out, p, n, e);
}

int modelio_commit(modelio_writer *w, imdb_err *e)
{
    static const unsigned char zeros[ALIGN];
    uLong crc = crc32(0L, Z_NULL, 0);
    unsigned char head[16], ent[DIRENT], tail[4];
    int rc = -1;
    memcpy(head, MAGIC, 8);
    put_u32le(head + 8, MODELIO_VERSION);
    put_u32le(head + 12, (uint32_t)w->n);
    if (put(w, &crc, head, 16, e) < 0) goto done;
    uint64_t off = 16 + (uint64_t)w->n * DIRENT;
    uint64_t *offs = imdb_xmalloc(sizeof *offs * (size_t)(w->n + 1));
    for (int i = 0; i < w->n; i++) {
        off = (off + ALIGN - 1) / ALIGN * ALIGN;
        offs[i] = off;
        memcpy(ent, w->sec[i].name, NAMELEN);
        put_u64le(ent + NAMELEN, off);
        put_u64le(ent + NAMELEN + 8, w->sec[i].size);
        if (put(w, &crc, ent, DIRENT, e) < 0) { free(offs); goto done; }
        off += w->sec[i].size;
    }
    uint64_t pos = 16 + (uint64_t)w->n * DIRENT;
    for (int i = 0; i < w->n; i++) {
        if (put(w, &crc, zeros, (size_t)(offs[i] - pos), e) < 0 ||
            put(w, &crc, w->sec[i].data, w->sec[i].size, e) < 0) { free(offs); goto done; }
        pos = offs[i] + w->sec[i].size;
    }
    free(offs);
    put_u32le(tail, (uint32_t)crc);
    if (outfile_write(w->out, tail, 4, e) < 0) goto done;
    rc = outfile_commit(w->out, e);
    w->out = NULL;
done:
    if (w->out) outfile_abort(w->out);
    free_sections(w);
    free(w);
    return rc;
}

void modelio_abort(modelio_writer *w)
{
    if (!w) return;
    outfile_abort(w->out);
    free_sections(w);
    free(w);
}

struct modelio {
    char *path;
    unsigned char *base;
    size_t size;
    int mapped;
    int borrowed;          /* base belongs to the caller (modelio_open_mem) */
    int nsec;
    section sec[MAXSEC];   /* data points into base */
};

static int load_bytes(modelio *m, imdb_err *e)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", m->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", m->path, strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return imdb_fail(e, IMDB_EXIT_IO, "%s: is a directory, not a model file", m->path);
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        m->size = (size_t)st.st_size;
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            m->base = p;
            m->mapped = 1;
            return 0;
        }
    }
    /* A pipe or an unmappable file: read it all into an aligned buffer. */
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = NULL;
    if (posix_memalign((void **)&buf, ALIGN, cap) != 0) abort();
    for (;;) {
        if (n == cap) {
            unsigned char *nb = NULL;
            if (posix_memalign((void **)&nb, ALIGN, cap * 2) != 0) abort();
            memcpy(nb, buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            close(fd);
            free(buf);
            return imdb_fail(e, IMDB_EXIT_IO, "%s: read error: %s", m->path, strerror(err));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    m->base = buf;
    m->size = n;
    return 0;
}

/* Check and index the bytes at m->base (m->size of them); m->path names them. */
static int parse(modelio *m, imdb_err *e)
{
    const char *path = m->path;
    if (m->size < 8 || memcmp(m->base, MAGIC, 8) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: not an imdb model file (bad magic number)", path);
        goto fail;
    }
    if (m->size < 20) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated model file (%zu bytes)", path, m->size);
        goto fail;
    }
    uint32_t version = get_u32le(m->base + 8);
    if (version > MODELIO_VERSION || version == 0) {
        imdb_fail(e, IMDB_EXIT_DATA,
                  "%s: model format version %u is not supported by this program (it reads version %d); "
                  "upgrade imdb or retrain the model", path, version, MODELIO_VERSION);
        goto fail;
    }
    uint32_t nsec = get_u32le(m->base + 12);
    size_t body = m->size - 4;
    if (nsec > MAXSEC || 16 + (uint64_t)nsec * DIRENT > body) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (section directory)", path);
        goto fail;
    }
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *d = m->base + 16 + (size_t)i * DIRENT;
        uint64_t off = get_u64le(d + NAMELEN), size = get_u64le(d + NAMELEN + 8);
        if (off > body || size > body - off || d[NAMELEN - 1] != '\0') {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (section %u out of bounds)",
                      path, i);
            goto fail;
        }
        /* The kinds read their arrays in place (doubles, u64 keys): an offset off the
         * 64-byte grid that every writer uses would make them misaligned (found by
         * tests/fuzz/fuzz_model). */
        if (off % ALIGN != 0) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (section %u at offset %llu, "
                      "not a multiple of %d)", path, i, (unsigned long long)off, ALIGN);
            goto fail;
        }
        memcpy(m->sec[i].name, d, NAMELEN);
        m->sec[i].data = m->base + off;
        m->sec[i].size = (size_t)size;
    }
    m->nsec = (int)nsec;
    uint32_t crc = modelio_crc32(0, m->base, body);
    if (crc != get_u32le(m->base + body)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (CRC mismatch)", path);
        goto fail;
    }
    return 0;
fail:
    return -1;
}

modelio *modelio_open(const char *path, imdb_err *e)
{
    modelio *m = imdb_xcalloc(1, sizeof *m);
    m->path = imdb_xstrdup(path);
    if (load_bytes(m, e) < 0 || parse(m, e) < 0) {
        modelio_close(m);
        return NULL;
    }
    return m;
}

modelio *modelio_open_mem(const void *data, size_t size, const char *name, imdb_err *e)
{
    modelio *m = imdb_xcalloc(1, sizeof *m);
    m->path = imdb_xstrdup(name);
    m->size = size;
    if ((uintptr_t)data % ALIGN == 0) {
        m->base = (unsigned char *)(uintptr_t)data;   /* only read, never written */
        m->borrowed = 1;
    } else {
        /* Copy, so that the sections stay 64-byte aligned for the kinds' arrays. */
        if (posix_memalign((void **)&m->base, ALIGN, size ? size : 1) != 0) abort();
        if (size) memcpy(m->base, data, size);
    }
    if (parse(m, e) < 0) {
        modelio_close(m);
        return NULL;
    }
    return m;
}

const void *modelio_get(const modelio *m, const char *name, size_t *size)
{
    for (int i = 0; i < m->nsec; i++)
        if (strcmp(m->sec[i].name, name) == 0) {
            if (size) *size = m->sec[i].size;
            return m->sec[i].data;
        }
    return NULL;
}

char *modelio_get_str(const modelio *m, const char *name)
{
    size_t n;
    const char *p = modelio_get(m, name, &n);
    return p ? imdb_xstrndup(p, n) : NULL;
}

const char *modelio_name(const modelio *m) { return m->path; }

void modelio_close(modelio *m)
{
    if (!m) return;
    if (m->base && !m->borrowed) {
        if (m->mapped) munmap(m->base, m->size);
        else free(m->base);
    }
    free(m->path);
    free(m);
}
