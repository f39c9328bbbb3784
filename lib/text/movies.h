/* movies.h — which movie each aclImdb review is about, for validation splits grouped by
 * movie (issue 15).
 *
 * IMDB's test movies are disjoint from its training movies (Maas et al. 2011), and a
 * movie has up to 30 reviews, so a random split of train puts reviews of one movie on
 * both sides and validation flatters a model that learns the movie (its names, its
 * plot) rather than the sentiment. aclImdb's SPLIT/urls_pos.txt and urls_neg.txt give,
 * at line i + 1, the IMDb URL of the movie of review SPLIT/pos/i_R (resp. neg): the
 * movie is the URL's title id ("tt0453418"). A split by movie sends every review of a
 * movie to the same side: valid when movies_hash(id) % 10000 < fraction * 10000, where
 * movies_hash is 32-bit FNV-1a of the id's bytes, so the split depends only on the
 * movie and the fraction, never on the order or the other reviews. */
#ifndef IMDB_MOVIES_H
#define IMDB_MOVIES_H
#include <stdint.h>
#include "util.h"

typedef struct movies movies;

/* Reads SPLIT/urls_pos.txt and SPLIT/urls_neg.txt (split "train" or "test") from the
 * aclImdb tarball or extracted directory at path. IMDB_EXIT_DATA when they are missing
 * or a line holds no /title/ID/. */
movies *movies_load(const char *path, const char *split, imdb_err *e);
void movies_free(movies *m);
/* The movie id ("tt0453418") of the review with document id "SPLIT/pos/12_8" or
 * ".../neg/...", or NULL when the id is not of that form or has no URL line. */
const char *movies_of(const movies *m, const char *doc_id);
uint32_t movies_hash(const char *movie);
/* 1 when the movie belongs to the validation part of a split with this fraction. */
int movies_valid(const char *movie, double fraction);
#endif
