/* progress.c — see progress.h. */
#include "progress.h"
#include "cli.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct progress {
    char what[48];
    char unit[16];
    uint64_t total, done;
    double start, last;
};

progress *progress_new(const char *what, uint64_t total, const char *unit)
{
    if (cli_verbose < 0 || !isatty(STDERR_FILENO)) return NULL;
    progress *p = imdb_xcalloc(1, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total;
    p->start = imdb_now();
    return p;
}

static void draw(progress *p, double now)
{
    double el = now - p->start, rate = el > 0 ? (double)p->done / el : 0;
    if (p->total) {
        int width = 30, fill = (int)(width * (double)p->done / (double)p->total);
        if (fill > width) fill = width;
        char bar[32];
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(width - fill));
        bar[width] = '\0';
        fprintf(stderr, "\r%s: [%s] %3.0f%% %llu/%llu %s %.0f/s ", p->what, bar,
                100.0 * (double)p->done / (double)p->total, (unsigned long long)p->done,
                (unsigned long long)p->total, p->unit, rate);
    } else {
        fprintf(stderr, "\r%s: %llu %s %.0f/s ", p->what, (unsigned long long)p->done, p->unit, rate);
    }
    fflush(stderr);
}

void progress_update(progress *p, uint64_t done)
{
    if (!p) return;
    p->done = done;
    double now = imdb_now();
    if (now - p->last < 0.1) return;
    p->last = now;
    draw(p, now);
}

void progress_end(progress *p)
{
    if (!p) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    free(p);
}
