/* predict-prompt.h — imdb-predict's interactive prompt (GNU readline): a verdict for each
 * review typed, "positive (0.97) [###...]" and its n-grams, or the --json line. Part of
 * the tool, not of the library: it reads the terminal and prints. */
#ifndef IMDB_PREDICT_PROMPT_H
#define IMDB_PREDICT_PROMPT_H
#include "clf.h"
#include "score.h"

/* Run the prompt until end of input, scoring with s (a SCORE_TEXT scorer for model),
 * explaining with k n-grams when f->explain; f->json prints score_format_result's JSON
 * lines instead of verdicts. 0 at end of input, -1 with e filled on a write error. */
int prompt_run(const clf *model, scorer *s, const score_format *f, int k, imdb_err *e);
#endif
