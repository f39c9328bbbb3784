/* fuzz_table.c — tables by column (table_) and the JSON object reader under them
 * (jsonl_): CSV and TSV with a header, JSON lines, with the default columns, explicit
 * ones, a label map, a rating threshold, --drop-unknown; and jsonl_parse alone on every
 * line of the input, checking what it promises (values NUL-terminated inside their
 * length, columns inside the line).
 *
 * Input: one byte of mode, then the file. Mode % 3: 0 CSV, 1 TSV, 2 JSON lines;
 * mode / 3 % 4: the spec (0 defaults; 1 text, label, id, a map; 2 review, stars, rating
 * 7:4; 3 a, b, c); mode / 12 % 2: drop unknown labels. */
#include "fuzz.h"
#include "jsonl.h"
#include "table.h"
#include "tokio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static table_labels *map, *rating;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    imdb_err e;
    map = table_labels_map("pos=1,yes;neg=0,no;-=?", &e);
    rating = table_labels_rating("7:4", &e);
    return 0;
}

static void read_table(const char *path, int mode)
{
    static const table_format fmts[] = {TABLE_CSV, TABLE_TSV, TABLE_JSONL};
    table_spec specs[4] = {
        {NULL, NULL, NULL, NULL, 0},
        {"text", "label", "id", map, 0},
        {"review", "stars", NULL, rating, 0},
        {"a", "b", "c", NULL, 0},
    };
    table_spec sp = specs[mode / 3 % 4];
    sp.drop_unknown = mode / 12 % 2;
    imdb_err e;
    table *t = table_open(path, "fuzz", fmts[mode % 3], &sp, &e);
    if (!t) return;
    table_row r;
    unsigned long n = 0;
    while (table_next(t, &r, &e) > 0) {
        if (r.label != TOKIO_POS && r.label != TOKIO_NEG && r.label != TOKIO_UNLABELLED) abort();
        if (!r.id || !r.id[0] || r.line < 1) abort();
        if (r.len) {
            volatile char first = r.text[0], last = r.text[r.len - 1];   /* in bounds */
            (void)first;
            (void)last;
        }
        n++;
    }
    table_stats st;
    table_stats_get(t, &st);
    if (st.rows != n) abort();
    table_close(t);
}

static void parse_lines(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"text", "label", "id", "text"};
    jsonl *j = jsonl_new();
    const char *s = (const char *)data, *end = s + size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        /* A copy of exactly n bytes, so that ASan sees any read past the line. */
        char *line = malloc(n ? n : 1);
        if (!line) break;
        memcpy(line, s, n);
        jsonl_value v[4];
        size_t col = 0;
        imdb_err e;
        int rc = jsonl_parse(j, line, n, names, 4, v, &col, &e);
        if (rc < 0 && (col < 1 || col > n + 1)) abort();
        if (rc == 1)
            for (int k = 0; k < 4; k++) {
                if (v[k].type == JSONL_ABSENT || v[k].type == JSONL_NESTED) {
                    if (v[k].text) abort();
                    continue;
                }
                if (!v[k].text || v[k].text[v[k].len] != '\0' || v[k].col < 1 || v[k].col > n ||
                    v[k].len > n)
                    abort();
            }
        if (rc == 1 && (v[0].type != v[3].type || v[0].text != v[3].text)) abort();
        free(line);
        s += n + 1;
    }
    jsonl_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char path[32];
    int fd = fuzz_path(data + 1, size - 1, path);
    if (fd < 0) return 0;
    read_table(path, data[0]);
    close(fd);
    parse_lines(data + 1, size - 1);
    return 0;
}
