/* json_shape — for tests/json-shape.sh: read JSON documents, one per line, from stdin
 * (imdb-predict --json lines, or imdb-serve answers) and print one line per prediction:
 * an answer with a "predictions" array gives one line per element, any other object one
 * line. The line is the prediction's shape: its keys in their order, each with the shape
 * of its value (string, integer, real, true/false, null, an object's shape in braces, an
 * array's as [the shapes of its distinct elements]), e.g.
 *   {id:integer,label:string,probability:real,explain:[{ngram:string,weight:real}]}
 * With --values, the prediction itself instead, keys in order, reals with 10
 * significant digits (so 0.5 and 0.500000 read the same). Exit 1 on a line that is not
 * JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shape(const json_t *v, FILE *out)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        fputc('{', out);
        json_object_foreach((json_t *)v, k, x) {
            fprintf(out, "%s%s:", first ? "" : ",", k);
            shape(x, out);
            first = 0;
        }
        fputc('}', out);
        break;
    }
    case JSON_ARRAY: {
        /* The distinct element shapes in order of first appearance. */
        char *seen = NULL;
        size_t nseen = 0;
        size_t i;
        json_t *x;
        int first = 1;
        fputc('[', out);
        json_array_foreach((json_t *)v, i, x) {
            char *s = NULL;
            size_t sl = 0;
            FILE *m = open_memstream(&s, &sl);
            if (!m) exit(2);
            shape(x, m);
            fputc('\n', m);
            fclose(m);
            if (!seen || !strstr(seen, s)) {
                fprintf(out, "%s%.*s", first ? "" : "|", (int)(sl - 1), s);
                first = 0;
                seen = realloc(seen, nseen + sl + 2);
                if (!seen) exit(2);
                if (nseen == 0) seen[nseen++] = '\n';
                memcpy(seen + nseen, s, sl + 1);
                nseen += sl;
            }
            free(s);
        }
        free(seen);
        fputc(']', out);
        break;
    }
    case JSON_STRING: fputs("string", out); break;
    case JSON_INTEGER: fputs("integer", out); break;
    case JSON_REAL: fputs("real", out); break;
    case JSON_TRUE: case JSON_FALSE: fputs("boolean", out); break;
    case JSON_NULL: fputs("null", out); break;
    }
}

static int print_one(const json_t *p, int values)
{
    if (values) {
        char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) |
                                JSON_ENCODE_ANY);
        if (!s) return -1;
        puts(s);
        free(s);
    } else {
        shape(p, stdout);
        putchar('\n');
    }
    return 0;
}

int main(int argc, char **argv)
{
    int values = argc > 1 && strcmp(argv[1], "--values") == 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        json_error_t je;
        json_t *v = json_loadb(line, (size_t)n, 0, &je);
        if (!v) {
            fprintf(stderr, "json_shape: line %ld: %s\n", lineno, je.text);
            return 1;
        }
        json_t *list = json_is_object(v) ? json_object_get(v, "predictions") : NULL;
        if (json_is_array(list)) {
            size_t i;
            json_t *x;
            json_array_foreach(list, i, x) if (print_one(x, values) < 0) return 2;
        } else if (print_one(v, values) < 0) {
            return 2;
        }
        json_decref(v);
    }
    free(line);
    return ferror(stdout) || fclose(stdout) ? 2 : 0;
}
