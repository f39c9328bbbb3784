/* nbproblem.h — a small random nblr problem for the solver tests (unit_soft, unit_newton).
 * Include it after defining ND (documents) and NF (features), and after rng.h, math.h. */
#ifndef IMDB_NBPROBLEM_H
#define IMDB_NBPROBLEM_H

typedef struct problem {
    size_t off[ND + 1];        /* document i's features: idx[off[i] .. off[i+1]) */
    uint32_t idx[ND * NF];
    double t[ND], r[NF];       /* targets P(pos); the NB log-count ratios */
    double alpha, c, prior;    /* 1, 0.5, 0.1 */
} problem;

/* Documents drawn from g: features 0..lean-1 lean positive (present with probability qhi
 * in a positive document, 0.15 in a negative one), lean..2 lean-1 negative, the rest are
 * noise (0.3). Targets: hard (0 or 1); with soft, every fifth hard and the others in
 * [0.1, 0.9), rounded down to a multiple of 1/grid when grid > 0. r: the NB ratios with
 * smoothing alpha, computed the naive way. */
static void make_problem(problem *P, rng *g, int soft, int lean, double qhi, double grid)
{
    P->alpha = 1;
    P->c = 0.5;
    P->prior = 0.1;
    size_t k = 0;
    P->off[0] = 0;
    for (int i = 0; i < ND; i++) {
        int pos = rng_uniform(g) < 0.5;
        for (uint32_t f = 0; f < NF; f++) {
            double q = (int)f < lean ? (pos ? qhi : 0.15) : (int)f < 2 * lean ? (pos ? 0.15 : qhi) : 0.3;
            if (rng_uniform(g) < q) P->idx[k++] = f;
        }
        P->off[i + 1] = k;
        P->t[i] = pos;
        if (soft && i % 5 != 0) {
            double s = 0.1 + 0.8 * rng_uniform(g);
            P->t[i] = grid > 0 ? floor(grid * s) / grid : s;
        }
    }
    double p[NF], n[NF], sp = 0, sn = 0;
    for (int f = 0; f < NF; f++) p[f] = n[f] = P->alpha;
    for (int i = 0; i < ND; i++)
        for (size_t q = P->off[i]; q < P->off[i + 1]; q++) {
            p[P->idx[q]] += P->t[i];
            n[P->idx[q]] += 1 - P->t[i];
        }
    for (int f = 0; f < NF; f++) { sp += p[f]; sn += n[f]; }
    for (int f = 0; f < NF; f++) P->r[f] = log(p[f] / sp) - log(n[f] / sn);
}

#endif
