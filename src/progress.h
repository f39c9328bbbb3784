/* progress.h — a one-line progress bar on stderr, drawn only when stderr is a terminal
 * and cli_verbose >= 0; otherwise every call is a cheap no-op. Redraws at most 10 times
 * a second. The tools' side: the library reports its progress through an imdb_log
 * (util.h), and cli_log draws it with these bars. */
#ifndef IMDB_PROGRESS_H
#define IMDB_PROGRESS_H
#include <stdint.h>

typedef struct progress progress;
/* total 0 means unknown (shows a count and rate instead of a bar). unit e.g. "docs". */
progress *progress_new(const char *what, uint64_t total, const char *unit);
void progress_update(progress *p, uint64_t done);   /* p may be NULL */
void progress_end(progress *p);                       /* clears the line, frees; p may be NULL */
#endif
