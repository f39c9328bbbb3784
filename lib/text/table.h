/* table.h — labelled tables read by column: CSV (RFC 4180) and TSV with a header line
 * naming the columns, and JSON lines (one object a line, jsonl.h) whose member names are
 * the columns. Three roles are picked by name: the text, the label and the id; a label
 * rule turns the label cell into pos, neg or unlabelled (a map of values, or a rating
 * threshold), and rows it cannot place are errors or, when asked, dropped and counted.
 * What imdb-clean --text-column/--label-column/--id-column/--labels/--rating-threshold
 * read (imdb-clean(1), "TABLES").
 *
 * Columns. A name given for a role must exist (in the header, or in every JSON object);
 * without one the text is the column "text", else "review"; the label "label", else
 * "sentiment", else none (every row unlabelled; but when a label rule is given, a label
 * is needed: no such column is an error, no such JSON member an unknown label); the id
 * "id", else none (the id is the
 * number of the line the row starts on, as for imdb-clean's other CSV input). Header
 * cells are compared after trimming spaces, exactly first, then ignoring ASCII case;
 * JSON names are compared exactly. A chosen name found twice is an error.
 *
 * Cells. CSV: RFC 4180 (quotes, doubled quotes, line breaks inside quotes, CRLF), strict
 * as rawin's reader is (a '"' in an unquoted field, text after a closing quote, an
 * unterminated quote are errors); a record may not exceed TABLE_MAX_RECORD bytes. TSV
 * (IANA text/tab-separated-values): fields split at every TAB, taken as they are, no
 * quoting. Every row must have as many fields as the header. JSON: a string, a number
 * (its text as written), true, false or null; an object or array in a chosen column is an
 * error, elsewhere it is skipped. A UTF-8 byte order mark opening the file is removed;
 * blank lines (JSON: white space only) between rows are skipped.
 *
 * Errors name the place as FILE:LINE:COLUMN (COLUMN the byte column from 1 where the field
 * or the offending byte is) and the column by name:
 *   reviews.csv:7:31: unknown label 'maybe' in column 'is_recommended' (expected ...)
 *   reviews.csv:1: no column 'review_text' (--text-column) in the header: id,text,stars
 * The library never prints: counts of dropped rows come back through table_stats. */
#ifndef IMDB_TABLE_H
#define IMDB_TABLE_H
#include <stddef.h>
#include "util.h"

#define TABLE_MAX_RECORD ((size_t)256 << 20)   /* largest CSV record, all its lines */

typedef enum table_format { TABLE_CSV, TABLE_TSV, TABLE_JSONL } table_format;

/* A label rule: a map of cell values to classes, or a rating threshold. Opaque. */
typedef struct table_labels table_labels;

/* The map "CLASS=VALUE,VALUE...;CLASS=..." (--labels), CLASS one of pos, neg, or "-"
 * (unlabelled), e.g. "pos=1,yes,positive;neg=0,no". Spaces around names and values are
 * ignored; a cell matches a value ignoring ASCII case and surrounding spaces, or, when
 * both are decimal numbers, by numeric value ("1" matches "1.0"). A value given for two
 * classes, an empty value or class, a class not pos, neg or -: NULL, IMDB_EXIT_USAGE. */
table_labels *table_labels_map(const char *spec, imdb_err *e);
/* The rule "POS_MIN:NEG_MAX" (--rating-threshold), two decimal numbers with
 * NEG_MAX < POS_MIN: a cell that is a number >= POS_MIN is pos, <= NEG_MAX neg, anything
 * between is dropped and counted (table_stats.dropped_between); IMDB's own rule is 7:4.
 * A bad spec: NULL, IMDB_EXIT_USAGE. */
table_labels *table_labels_rating(const char *spec, imdb_err *e);
/* The rule used when none is given: the map "pos=positive,pos,1;neg=negative,neg,0;-=-"
 * (rawin's CSV labels). */
table_labels *table_labels_default(void);
void table_labels_free(table_labels *l);

typedef struct table_spec {
    const char *text_col, *label_col, *id_col;   /* NULL: the defaults above */
    const table_labels *labels;   /* NULL: table_labels_default(); borrowed, must outlive
                                   * every table opened with it */
    int drop_unknown;             /* rows with a label the rule does not know (or a JSON
                                   * row without the label member): 1 drop and count,
                                   * 0 an error */
} table_spec;

typedef struct table_row {
    int label;          /* TOKIO_POS, TOKIO_NEG, TOKIO_UNLABELLED */
    const char *id;     /* NUL-terminated, never empty, no NUL inside (a NUL in an id cell
                         * becomes a space); owned by the table, valid until the next call */
    int has_id;         /* 1: id is the id column's cell; 0: the line number */
    const char *text;   /* the text cell's bytes (may hold NULs), valid until the next call */
    size_t len;
    long line;          /* the line the row starts on, from 1 */
} table_row;

typedef struct table_stats {
    unsigned long rows;              /* rows returned */
    unsigned long dropped_unknown;   /* under drop_unknown */
    unsigned long dropped_between;   /* rating strictly between NEG_MAX and POS_MIN */
    long first_unknown_line;         /* the first dropped unknown label: its line ... */
    char first_unknown[48];          /* ... and value (cut, control bytes as spaces) */
} table_stats;

typedef struct table table;

/* Open path ("-": standard input; plain or gzip, as lineio_open) as fmt, with spec
 * (copied, but for spec->labels). For CSV and TSV the header is read and the columns
 * found here, so a missing column fails at open. name is used in messages (NULL: path).
 * NULL on error: IMDB_EXIT_IO (cannot open), IMDB_EXIT_DATA (header). */
table *table_open(const char *path, const char *name, table_format fmt, const table_spec *spec,
                  imdb_err *e);
/* 1: a row in *row; 0: end; -1: an error (IMDB_EXIT_DATA with FILE:LINE:COLUMN, or
 * lineio's I/O errors). Rows dropped by the rule are not returned, only counted. */
int table_next(table *t, table_row *row, imdb_err *e);
void table_stats_get(const table *t, table_stats *st);
void table_close(table *t);
#endif
