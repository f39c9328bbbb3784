/* rawin.h — raw review sources, one document at a time:
 *   aclImdb tarball (read through tar_, no extraction), extracted aclImdb directory,
 *   CSV with header review,sentiment (Kaggle "IMDB Dataset.csv"; RFC 4180 quoting,
 *   embedded newlines), TSV "label<TAB>text" (or "label<TAB>id<TAB>text" after the header
 *   line "label<TAB>id<TAB>text"), and plain text lines (one review a line).
 * IDs are stable: "train/pos/0_9" for aclImdb (file name without ".txt"), "LINE" numbers
 * (from 1) for CSV records, 2-column TSV and text lines, the ID column of 3-column TSV
 * (never empty). Labels: aclImdb pos/neg dirs, unsup = "-"; CSV "positive"/"negative"
 * (also pos/neg/1/0); TSV pos/neg/-/1/0; text lines unlabelled.
 * Tables read by column (CSV, TSV with a header, JSON lines: table.h) come through the
 * same interface from rawin_open_table; JSON lines are always read that way. */
#ifndef IMDB_RAWIN_H
#define IMDB_RAWIN_H
#include <stddef.h>
#include "table.h"
#include "util.h"

typedef enum rawin_format {
    RAWIN_AUTO = 0,   /* by name: directory, *.tar.gz|*.tgz|*.tar, *.csv[.gz], *.tsv[.gz], else lines */
    RAWIN_ACLIMDB_TAR,
    RAWIN_ACLIMDB_DIR,
    RAWIN_CSV,
    RAWIN_TSV,
    RAWIN_LINES,
    RAWIN_JSONL       /* JSON lines, by name *.jsonl[.gz], *.ndjson[.gz]; read by table_ */
} rawin_format;

/* "auto", "tar", "dir", "csv", "tsv", "lines", "jsonl" -> format; -1 if unknown. */
int rawin_parse_format(const char *s);

typedef struct rawin_doc {
    int label;          /* TOKIO_POS, TOKIO_NEG, TOKIO_UNLABELLED */
    const char *id;     /* owned by the reader, valid until the next call */
    const char *text;   /* raw bytes (may hold NULs), valid until the next call */
    size_t len;
    int has_id;         /* 1: id names the document (aclImdb path, the ID column of a TSV
                         * or a table); 0: id is a line number */
} rawin_doc;

typedef struct rawin rawin;

/* split: "train", "test", "unsup" or NULL (all of train and test, unsup included) — only
 * for the aclImdb layouts; for other formats a non-NULL split is an IMDB_EXIT_USAGE error.
 * Within aclImdb, documents come in path order (byte order of the names); from a tarball
 * that means archive order, which is path order for the distributed (sorted) archive. */
rawin *rawin_open(const char *path, rawin_format fmt, const char *split, imdb_err *e);
/* The same, with CSV, TSV and JSON lines read by column as spec says (table_open; spec is
 * copied but for spec->labels, which must outlive r). spec NULL is rawin_open (JSON lines
 * then get the default columns). A spec with an aclImdb or text-lines input, or with a
 * split, is an IMDB_EXIT_USAGE error: those have no columns. */
rawin *rawin_open_table(const char *path, rawin_format fmt, const char *split,
                        const table_spec *spec, imdb_err *e);
/* The counts of the table being read (rows dropped by the label rule): 1 and *st for
 * a reader opened as a table, else 0. */
int rawin_table_stats(const rawin *r, table_stats *st);
/* 1: a document; 0: end; -1: error (malformed CSV, unknown label, truncated archive...). */
int rawin_next(rawin *r, rawin_doc *d, imdb_err *e);
void rawin_close(rawin *r);
#endif
