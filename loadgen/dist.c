/*
 * dist.c — key distributions (see dist.h).
 *
 * The zipf chooser is Gray et al.'s inversion as YCSB implements it: with
 * zetan = zeta(n, theta), a uniform u in [0, 1) picks rank 0 when
 * u * zetan < 1, rank 1 when it is below 1 + 0.5^theta, and otherwise
 * floor(n * (eta * u - eta + 1)^alpha) with alpha = 1 / (1 - theta) and
 * eta = (1 - (2/n)^(1-theta)) / (1 - zeta(2, theta) / zetan). The first two
 * ranks are exact; the tail is a continuous approximation, which is what every
 * YCSB-compatible tool uses, so results compare across tools.
 */
#include "loadgen/dist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void dist_rng_seed(struct dist_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

int dist_parse(const char *s, enum dist_kind *kind, double *theta)
{
	char *end;

	*theta = 0.99;
	if (!strcmp(s, "uniform")) {
		*kind = DIST_UNIFORM;
	} else if (!strcmp(s, "sequential")) {
		*kind = DIST_SEQUENTIAL;
	} else if (!strcmp(s, "zipf")) {
		*kind = DIST_ZIPF;
	} else if (!strncmp(s, "zipf:", 5)) {
		*kind = DIST_ZIPF;
		*theta = strtod(s + 5, &end);
		if (end == s + 5 || *end || !(*theta > 0 && *theta < 1))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

double dist_zeta(uint64_t n, double theta)
{
	double sum = 0;

	for (uint64_t i = 1; i <= n; i++)
		sum += 1.0 / pow((double)i, theta);
	return sum;
}

int dist_init(struct dist *d, enum dist_kind kind, uint64_t n, double theta)
{
	memset(d, 0, sizeof(*d));
	if (n == 0)
		return -EINVAL;
	d->kind = kind;
	d->n = n;
	d->theta = theta;
	if (kind != DIST_ZIPF)
		return 0;
	if (!(theta > 0 && theta < 1))
		return -EINVAL;
	d->alpha = 1.0 / (1.0 - theta);
	d->zetan = dist_zeta(n, theta);
	d->half_pow_theta = 1.0 + pow(0.5, theta);
	d->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - dist_zeta(2, theta) / d->zetan);
	return 0;
}

uint64_t dist_next(const struct dist *d, struct dist_rng *r, struct dist_seq *seq)
{
	double u, uz;
	uint64_t k;

	switch (d->kind) {
	case DIST_UNIFORM:
		return dist_rng_below(r, d->n);
	case DIST_SEQUENTIAL:
		k = seq->next % d->n;
		seq->next = k + 1;
		return k;
	case DIST_ZIPF:
	default:
		u = dist_rng_double(r);
		uz = u * d->zetan;
		if (uz < 1.0 || d->n == 1)
			return 0;
		if (uz < d->half_pow_theta)
			return 1;
		k = (uint64_t)((double)d->n * pow(d->eta * u - d->eta + 1.0, d->alpha));
		return k < d->n ? k : d->n - 1;
	}
}
