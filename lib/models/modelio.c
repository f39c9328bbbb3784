/* modelio.c — see modelio.h and imdb-model(5). The whole file is mapped read-only and the
 * model kinds use the float and integer arrays in place. Format 2 gives every 64 KiB of
 * every section its own CRC (zstd's per-block checksums, a filesystem's per-extent ones),
 * so that a lazy open costs one mmap and the head's CRC, and a chunk's CRC is paid the
 * first time a lookup reaches it (PCLMULQDQ-folded where the CPU has it); format 1's one
 * CRC over the whole file made every start-up pay for all of it. */
#include "modelio.h"
#include "outfile.h"
#include "recfile.h"

#include <errno.h>
#include <stdatomic.h>
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
#define HEAD1 16   /* format 1: magic, version, N */
#define HEAD2 24   /* format 2: + chunk size, 0 */

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
    unsigned char *data;   /* or NULL: the size bytes of file fd from offset 0 */
    size_t size;
    int fd;
    char *fdname;
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

/* A new section named name, or NULL (e). */
static section *new_section(modelio_writer *w, const char *name, imdb_err *e)
{
    if (strlen(name) >= NAMELEN) {
        imdb_fail(e, IMDB_EXIT_INTERNAL, "model section name '%s' too long", name);
        return NULL;
    }
    if (w->n == MAXSEC) {
        imdb_fail(e, IMDB_EXIT_INTERNAL, "too many model sections");
        return NULL;
    }
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->sec[i].name, name) == 0) {
            imdb_fail(e, IMDB_EXIT_INTERNAL, "duplicate model section '%s'", name);
            return NULL;
        }
    section *s = &w->sec[w->n++];
    s->fd = -1;
    s->fdname = NULL;
    memset(s->name, 0, NAMELEN);
    memcpy(s->name, name, strlen(name));
    return s;
}

int modelio_add_owned(modelio_writer *w, const char *name, void *data, size_t size, imdb_err *e)
{
    section *s = new_section(w, name, e);
    if (!s) {
        free(data);
        return -1;
    }
    s->data = data;
    s->size = size;
    return 0;
}

int modelio_add_file(modelio_writer *w, const char *name, int fd, const char *fdname, size_t size, imdb_err *e)
{
    section *s = new_section(w, name, e);
    if (!s) {
        close(fd);
        return -1;
    }
    s->data = NULL;
    s->size = size;
    s->fd = fd;
    s->fdname = imdb_xstrdup(fdname);
    return 0;
}

int modelio_add(modelio_writer *w, const char *name, const void *data, size_t size, imdb_err *e)
{
    section *s = new_section(w, name, e);
    if (!s) return -1;
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
    for (int i = 0; i < w->n; i++) {
        free(w->sec[i].data);
        if (w->sec[i].fd >= 0) close(w->sec[i].fd);
        free(w->sec[i].fdname);
    }
}

/* Bytes c .. c + n of section s (n <= MODELIO_CHUNK): its data, or read into buf. */
static const unsigned char *chunk_of(const section *s, size_t c, size_t n, unsigned char *buf, imdb_err *e)
{
    if (s->data) return s->data + c;
    int r = recfile_read(s->fd, buf, n, c);
    if (r <= 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", s->fdname, r < 0 ? strerror(errno) : "ends early");
        return NULL;
    }
    return buf;
}

static size_t nchunks(size_t size, size_t chunk) { return size / chunk + (size % chunk != 0); }

/* Format 2: the head (fields, directory, chunk CRCs, its CRC), then the sections. */
int modelio_commit(modelio_writer *w, imdb_err *e)
{
    static const unsigned char zeros[ALIGN];
    int rc = -1;
    size_t nck = 0;
    for (int i = 0; i < w->n; i++) nck += nchunks(w->sec[i].size, MODELIO_CHUNK);
    size_t hlen = HEAD2 + (size_t)w->n * DIRENT + 4 * nck;
    unsigned char *head = imdb_xcalloc(hlen + 4, 1);
    memcpy(head, MAGIC, 8);
    put_u32le(head + 8, MODELIO_VERSION);
    put_u32le(head + 12, (uint32_t)w->n);
    put_u32le(head + 16, MODELIO_CHUNK);
    put_u32le(head + 20, 0);
    uint64_t off = hlen + 4;
    unsigned char *crc = head + HEAD2 + (size_t)w->n * DIRENT;
    uint64_t *offs = imdb_xmalloc(sizeof *offs * (size_t)(w->n + 1));
    unsigned char *fbuf = imdb_xmalloc(MODELIO_CHUNK);   /* a chunk of a section in a file */
    for (int i = 0; i < w->n; i++) {
        unsigned char *ent = head + HEAD2 + (size_t)i * DIRENT;
        off = (off + ALIGN - 1) / ALIGN * ALIGN;
        offs[i] = off;
        memcpy(ent, w->sec[i].name, NAMELEN);
        put_u64le(ent + NAMELEN, off);
        put_u64le(ent + NAMELEN + 8, w->sec[i].size);
        off += w->sec[i].size;
        for (size_t c = 0; c < w->sec[i].size; c += MODELIO_CHUNK) {
            size_t n = w->sec[i].size - c < MODELIO_CHUNK ? w->sec[i].size - c : MODELIO_CHUNK;
            const unsigned char *p = chunk_of(&w->sec[i], c, n, fbuf, e);
            if (!p) goto done;
            put_u32le(crc, modelio_crc32(0, p, n));
            crc += 4;
        }
    }
    put_u32le(head + hlen, modelio_crc32(0, head, hlen));
    if (outfile_write(w->out, head, hlen + 4, e) < 0) goto done;
    uint64_t pos = hlen + 4;
    for (int i = 0; i < w->n; i++) {
        if (outfile_write(w->out, zeros, (size_t)(offs[i] - pos), e) < 0) goto done;
        if (w->sec[i].data && outfile_write(w->out, w->sec[i].data, w->sec[i].size, e) < 0) goto done;
        for (size_t c = 0; !w->sec[i].data && c < w->sec[i].size; c += MODELIO_CHUNK) {
            size_t n = w->sec[i].size - c < MODELIO_CHUNK ? w->sec[i].size - c : MODELIO_CHUNK;
            const unsigned char *p = chunk_of(&w->sec[i], c, n, fbuf, e);
            if (!p || outfile_write(w->out, p, n, e) < 0) goto done;
        }
        pos = offs[i] + w->sec[i].size;
    }
    rc = outfile_commit(w->out, e);
    w->out = NULL;
done:
    free(offs);
    free(fbuf);
    free(head);
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

/* ---- reading ------------------------------------------------------------------------
 * Chunk states (modelio_lazy.state): UNCHECKED; CRC_OK (the CRC matched, the kind's check
 * is still to run); GOOD; BAD (stays bad). A chunk only moves towards GOOD or BAD, and
 * any thread that checks it finds the same answer, so racing checks are harmless. */
enum { UNCHECKED = 0, CRC_OK = 1, GOOD = MODELIO_GOOD, BAD = 3 };

typedef struct rsec {
    char name[NAMELEN];
    unsigned char *data;
    size_t size;
    const unsigned char *crc;   /* format 2: its chunk CRCs in the head */
    modelio_lazy lz;            /* state points into modelio.state */
} rsec;

struct modelio {
    char *path;
    unsigned char *base;
    size_t size;
    int mapped;
    int borrowed;          /* base belongs to the caller (modelio_open_mem) */
    int flags, version;
    unsigned shift;        /* log2 of the chunk size (format 1: of MODELIO_CHUNK) */
    int nsec;
    _Atomic unsigned char *state;   /* every section's chunks, in directory order */
    _Atomic size_t *ngood;          /* per section: its chunks in state GOOD */
    rsec sec[MAXSEC];      /* data points into base */
};

static int nomem(const char *path, imdb_err *e)
{
    return imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", path);
}

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
    if (posix_memalign((void **)&buf, ALIGN, cap) != 0) {
        close(fd);
        return nomem(m->path, e);
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb = NULL;
            if (cap > SIZE_MAX / 4 || posix_memalign((void **)&nb, ALIGN, cap * 2) != 0) {
                close(fd);
                free(buf);
                return nomem(m->path, e);
            }
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

static int corrupt_sec(const modelio *m, const rsec *s, size_t off, size_t n, const char *why, imdb_err *e)
{
    return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (%s in section %s, bytes %zu to %zu)",
                     m->path, why, s->name, off, off + n);
}

/* Chunk j of lz's section found corrupt (a chunk GOOD before no longer counts). */
static void set_bad(const modelio_lazy *lz, size_t j)
{
    if (atomic_exchange_explicit(&lz->state[j], BAD, memory_order_acq_rel) == GOOD)
        atomic_fetch_sub_explicit(lz->ngood, 1, memory_order_relaxed);
}

/* Check chunk j of section s: its CRC unless known good (or all of them when full), then
 * the kind's check. 0 or -1 (e may be NULL). */
static int check_chunk(const modelio *m, const rsec *s, size_t j, int full, imdb_err *e)
{
    _Atomic unsigned char *st = &s->lz.state[j];
    unsigned char v = atomic_load_explicit(st, memory_order_acquire);
    if (v == GOOD && !full) return 0;
    size_t chunk = (size_t)1 << m->shift, off = j * chunk;
    size_t n = s->size - off < chunk ? s->size - off : chunk;
    if (m->version >= 2 && (full || v != CRC_OK)) {
        if (modelio_crc32(0, s->data + off, n) != get_u32le(s->crc + 4 * j)) {
            set_bad(&s->lz, j);
            return corrupt_sec(m, s, off, n, "CRC mismatch", e);
        }
    }
    if (s->lz.check) {
        imdb_err ke = { .status = 0, .msg = "contents refused" };
        if (s->lz.check(s->lz.ctx, s->data + off, off, n, &ke) < 0) {
            set_bad(&s->lz, j);
            return corrupt_sec(m, s, off, n, ke.msg, e);
        }
    }
    /* Counted once per chunk that becomes GOOD, however many threads checked it. */
    if (v != GOOD && atomic_compare_exchange_strong(st, &v, GOOD))
        atomic_fetch_add_explicit(s->lz.ngood, 1, memory_order_release);
    return 0;
}

/* Check every chunk of section s not known good (all of them when full). */
static int check_section(const modelio *m, const rsec *s, int full, imdb_err *e)
{
    size_t n = nchunks(s->size, (size_t)1 << m->shift);
    for (size_t j = 0; j < n; j++)
        if (check_chunk(m, s, j, full, e) < 0) return -1;
    return 0;
}

/* 0 if the bytes from end to the next multiple of 64 (or the end of the file) are zero. */
static int padding(const modelio *m, size_t end)
{
    for (size_t i = end; i < m->size && i % ALIGN != 0; i++)
        if (m->base[i] != 0) return -1;
    return 0;
}

/* Check and index the bytes at m->base (m->size of them); m->path names them. */
static int parse(modelio *m, imdb_err *e)
{
    const char *path = m->path;
    if (m->size < 8 || memcmp(m->base, MAGIC, 8) != 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: not an imdb model file (bad magic number)", path);
    if (m->size < 20)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated model file (%zu bytes)", path, m->size);
    uint32_t version = get_u32le(m->base + 8);
    if (version > MODELIO_VERSION || version == 0)
        return imdb_fail(e, IMDB_EXIT_DATA,
                         "%s: model format version %u is not supported by this program (it reads versions 1 "
                         "to %d); upgrade imdb or retrain the model", path, version, MODELIO_VERSION);
    m->version = (int)version;
    uint32_t nsec = get_u32le(m->base + 12);
    size_t dir, end;       /* where the directory starts; where the checked head ends */
    if (version == 1) {
        /* Format 1: one CRC over all but the last 4 bytes, checked below. */
        dir = HEAD1;
        end = m->size - 4;
        m->shift = 16;
        if (nsec > MAXSEC || dir + (uint64_t)nsec * DIRENT > end)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (section directory)", path);
    } else {
        dir = HEAD2;
        if (m->size < HEAD2 + 4)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated model file (%zu bytes)", path, m->size);
        uint32_t chunk = get_u32le(m->base + 16);
        if (chunk < 64 || chunk > (1u << 30) || (chunk & (chunk - 1)))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (chunk size %u)", path, chunk);
        m->shift = (unsigned)__builtin_ctz(chunk);
        if (nsec > MAXSEC || dir + (uint64_t)nsec * DIRENT + 4 > m->size)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (section directory)", path);
        end = m->size;   /* sections must lie inside the file; the CRCs are counted below */
    }
    size_t total = 0;   /* chunks */
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *d = m->base + dir + (size_t)i * DIRENT;
        uint64_t off = get_u64le(d + NAMELEN), size = get_u64le(d + NAMELEN + 8);
        if (off > end || size > end - off || d[NAMELEN - 1] != '\0')
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (section %u out of bounds)",
                             path, i);
        memcpy(m->sec[i].name, d, NAMELEN);
        m->sec[i].data = m->base + off;
        m->sec[i].size = (size_t)size;
        total += nchunks((size_t)size, (size_t)1 << m->shift);   /* <= m->size / 64 + 1 each */
    }
    m->nsec = (int)nsec;
    if (version >= 2) {
        size_t crcs = dir + (size_t)nsec * DIRENT;
        if (total > (m->size - crcs - 4) / 4)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated or corrupt model file (chunk checksums)", path);
        size_t hlen = crcs + 4 * total;
        if (modelio_crc32(0, m->base, hlen) != get_u32le(m->base + hlen))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (CRC mismatch in the head)", path);
        for (int i = 0; i < m->nsec; i++)
            if (m->sec[i].size && (size_t)(m->sec[i].data - m->base) < hlen + 4)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (section %d overlaps the head)",
                                 path, i);
        const unsigned char *c = m->base + crcs;
        for (int i = 0; i < m->nsec; i++) {
            m->sec[i].crc = c;
            c += 4 * nchunks(m->sec[i].size, (size_t)1 << m->shift);
        }
        /* No CRC covers the padding to the next multiple of 64 after the head and after
         * each section: it must be zeros, so that no byte of a file the writer made can
         * change unnoticed. */
        if (padding(m, hlen + 4) < 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (padding after the head is not zero)", path);
        for (int i = 0; i < m->nsec; i++)
            if (padding(m, (size_t)(m->sec[i].data - m->base) + m->sec[i].size) < 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (padding after section %s is not zero)",
                                 path, m->sec[i].name);
    } else if (modelio_crc32(0, m->base, end) != get_u32le(m->base + end)) {
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (CRC mismatch)", path);
    }
    /* The kinds read their arrays in place (doubles, u64 keys): an offset off the 64-byte
     * grid that every writer uses would make them misaligned (found by
     * tests/fuzz/fuzz_model). After the CRC, so that a damaged directory reads as one. */
    for (int i = 0; i < m->nsec; i++) {
        size_t off = (size_t)(m->sec[i].data - m->base);
        if (off % ALIGN != 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (section %d at offset %zu, "
                             "not a multiple of %d)", path, i, off, ALIGN);
    }
    /* Format 1: the whole file's CRC matched, every chunk starts at CRC_OK (calloc'd as
     * UNCHECKED, set below). */
    m->state = calloc(total ? total : 1, 1);
    m->ngood = calloc(m->nsec ? (size_t)m->nsec : 1, sizeof *m->ngood);
    if (!m->state || !m->ngood) return nomem(path, e);
    size_t first = 0;
    for (int i = 0; i < m->nsec; i++) {
        size_t n = nchunks(m->sec[i].size, (size_t)1 << m->shift);
        m->sec[i].lz = (modelio_lazy){ .state = m->state + first, .ngood = &m->ngood[i], .nchunk = n,
                                       .shift = m->shift, .m = m, .sec = i };
        for (size_t j = 0; j < n; j++)
            atomic_init(&m->state[first + j], m->version >= 2 ? UNCHECKED : GOOD);
        atomic_init(&m->ngood[i], m->version >= 2 ? 0 : n);
        first += n;
    }
    if (!(m->flags & MODELIO_LAZY) && m->version >= 2)
        for (int i = 0; i < m->nsec; i++)
            if (check_section(m, &m->sec[i], 0, e) < 0) return -1;
    return 0;
}

modelio *modelio_open_flags(const char *path, int flags, imdb_err *e)
{
    modelio *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        nomem(path, e);
        return NULL;
    }
    m->flags = flags;
    if (load_bytes(m, e) < 0 || parse(m, e) < 0) {
        modelio_close(m);
        return NULL;
    }
    return m;
}

modelio *modelio_open(const char *path, imdb_err *e) { return modelio_open_flags(path, 0, e); }

modelio *modelio_open_mem_flags(const void *data, size_t size, const char *name, int flags, imdb_err *e)
{
    modelio *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(name))) {
        free(m);
        nomem(name, e);
        return NULL;
    }
    m->flags = flags;
    m->size = size;
    if ((uintptr_t)data % ALIGN == 0) {
        m->base = (unsigned char *)(uintptr_t)data;   /* only read, never written */
        m->borrowed = 1;
    } else {
        /* Copy, so that the sections stay 64-byte aligned for the kinds' arrays. */
        if (posix_memalign((void **)&m->base, ALIGN, size ? size : 1) != 0) {
            m->base = NULL;
            nomem(name, e);
            modelio_close(m);
            return NULL;
        }
        if (size) memcpy(m->base, data, size);
    }
    if (parse(m, e) < 0) {
        modelio_close(m);
        return NULL;
    }
    return m;
}

modelio *modelio_open_mem(const void *data, size_t size, const char *name, imdb_err *e)
{
    return modelio_open_mem_flags(data, size, name, 0, e);
}

int modelio_flags(const modelio *m) { return m->flags; }
int modelio_version(const modelio *m) { return m->version; }

static const rsec *lookup(const modelio *m, const char *name)
{
    for (int i = 0; i < m->nsec; i++)
        if (strcmp(m->sec[i].name, name) == 0) return &m->sec[i];
    return NULL;
}

int modelio_find(const modelio *m, const char *name, const void **data, size_t *size, imdb_err *e)
{
    const rsec *s = lookup(m, name);
    if (!s) return 0;
    if (check_section(m, s, 0, e) < 0) return -1;
    if (data) *data = s->data;
    if (size) *size = s->size;
    return 1;
}

const void *modelio_get(const modelio *m, const char *name, size_t *size)
{
    const void *p;
    return modelio_find(m, name, &p, size, NULL) == 1 ? p : NULL;
}

int modelio_find_str(const modelio *m, const char *name, char **out, imdb_err *e)
{
    const void *p;
    size_t n;
    *out = NULL;
    int r = modelio_find(m, name, &p, &n, e);
    if (r <= 0) return r;
    if (!(*out = malloc(n + 1))) return nomem(m->path, e);
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    return 1;
}

char *modelio_get_str(const modelio *m, const char *name)
{
    size_t n;
    const char *p = modelio_get(m, name, &n);
    return p ? imdb_xstrndup(p, n) : NULL;
}

const void *modelio_get_lazy(const modelio *m, const char *name, size_t *size, modelio_check_fn check,
                             const void *ctx, const modelio_lazy **lz)
{
    rsec *s = (rsec *)(uintptr_t)lookup(m, name);   /* the check state is the modelio's cache */
    if (!s) return NULL;
    s->lz.check = check;
    s->lz.ctx = ctx;
    if (check) {
        /* Chunks whose CRC was checked still need the kind's check. */
        size_t n = nchunks(s->size, (size_t)1 << m->shift);
        for (size_t j = 0; j < n; j++) {
            unsigned char v = GOOD;
            if (atomic_compare_exchange_strong(&s->lz.state[j], &v, CRC_OK))
                atomic_fetch_sub_explicit(s->lz.ngood, 1, memory_order_relaxed);
        }
    }
    if (size) *size = s->size;
    if (lz) *lz = &s->lz;
    return s->data;
}

int modelio_need_slow(const modelio_lazy *lz, size_t off)
{
    const modelio *m = lz->m;
    const rsec *s = &m->sec[lz->sec];
    size_t j = off >> m->shift;
    if (off >= s->size) return -1;
    if (atomic_load_explicit(&lz->state[j], memory_order_acquire) == BAD) return -1;
    return check_chunk(m, s, j, 0, NULL);
}

int modelio_verify(const modelio *m, imdb_err *e)
{
    if (m->version < 2) {
        /* The whole file's CRC, then the kinds' checks (chunk by chunk). */
        size_t end = m->size - 4;
        if (modelio_crc32(0, m->base, end) != get_u32le(m->base + end))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (CRC mismatch)", m->path);
    } else {
        size_t hlen = HEAD2 + (size_t)m->nsec * DIRENT, n = 0;
        for (int i = 0; i < m->nsec; i++) n += nchunks(m->sec[i].size, (size_t)1 << m->shift);
        hlen += 4 * n;
        if (modelio_crc32(0, m->base, hlen) != get_u32le(m->base + hlen))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (CRC mismatch in the head)", m->path);
        if (padding(m, hlen + 4) < 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (padding after the head is not zero)", m->path);
        for (int i = 0; i < m->nsec; i++)
            if (padding(m, (size_t)(m->sec[i].data - m->base) + m->sec[i].size) < 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt model file (padding after section %s is not zero)",
                                 m->path, m->sec[i].name);
    }
    for (int i = 0; i < m->nsec; i++)
        if (check_section(m, &m->sec[i], 1, e) < 0) return -1;
    return 0;
}

int modelio_check_rest(const modelio *m, imdb_err *e)
{
    for (int i = 0; i < m->nsec; i++)
        if (check_section(m, &m->sec[i], 0, e) < 0) return -1;
    return 0;
}

const char *modelio_name(const modelio *m) { return m->path; }

void modelio_close(modelio *m)
{
    if (!m) return;
    if (m->base && !m->borrowed) {
        if (m->mapped) munmap(m->base, m->size);
        else free(m->base);
    }
    free((void *)m->state);
    free((void *)m->ngood);
    free(m->path);
    free(m);
}

/* ---- resealing (tests, fuzzing) ---- */

static void reseal(unsigned char *p, size_t n, int depth, int maxdepth)
{
    if (n < 20 || memcmp(p, MAGIC, 8) != 0) return;
    uint32_t version = get_u32le(p + 8), ns = get_u32le(p + 12);
    size_t dir = version >= 2 ? HEAD2 : HEAD1;
    if (version < 1 || version > MODELIO_VERSION || ns > MAXSEC || n < dir + (size_t)ns * DIRENT + 4) return;
    uint32_t chunk = version >= 2 ? get_u32le(p + 16) : 0;
    if (version >= 2 && (chunk < 64 || chunk > (1u << 30) || (chunk & (chunk - 1)))) return;
    /* Nested model files first (an ensemble's members), then the chunks, then the head. */
    for (uint32_t i = 0; depth < maxdepth && i < ns; i++) {
        const unsigned char *d = p + dir + (size_t)i * DIRENT;
        uint64_t off = get_u64le(d + 16), sz = get_u64le(d + 24);
        if (off <= n && sz <= n - off) reseal(p + off, (size_t)sz, depth + 1, maxdepth);
    }
    if (version < 2) {
        put_u32le(p + n - 4, modelio_crc32(0, p, n - 4));
        return;
    }
    size_t crcs = dir + (size_t)ns * DIRENT, k = 0;
    for (uint32_t i = 0; i < ns; i++) {
        const unsigned char *d = p + dir + (size_t)i * DIRENT;
        uint64_t off = get_u64le(d + 16), sz = get_u64le(d + 24);
        if (off > n || sz > n - off) return;
        for (size_t c = 0; c < sz; c += chunk, k++) {
            if (crcs + 4 * k + 8 > n) return;
            size_t len = sz - c < chunk ? (size_t)(sz - c) : chunk;
            put_u32le(p + crcs + 4 * k, modelio_crc32(0, p + off + c, len));
        }
    }
    size_t hlen = crcs + 4 * k;
    if (hlen + 4 <= n) put_u32le(p + hlen, modelio_crc32(0, p, hlen));
}

void modelio_reseal(unsigned char *p, size_t n, int nested) { reseal(p, n, 0, nested ? 3 : 0); }
