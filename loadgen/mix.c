/*
 * mix.c — command templates and the weighted mix (see mix.h).
 */
#include "loadgen/mix.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int lg_tmpl_parse(struct lg_tmpl *t, const char *s)
{
	size_t n = strlen(s), words = 0;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->argv = calloc(n / 2 + 1, sizeof(char *));
	t->argl = calloc(n / 2 + 1, sizeof(size_t));
	if (!t->argv || !t->argl)
		goto fail;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		while (j < n && s[j] != ' ' && s[j] != '\t')
			j++;
		t->argv[words] = malloc(j - i + 1);
		if (!t->argv[words])
			goto fail;
		memcpy(t->argv[words], s + i, j - i);
		t->argv[words][j - i] = '\0';
		t->argl[words++] = j - i;
		t->argc = (int)words;
		i = j;
	}
	if (!words)
		goto fail;
	for (size_t i = 0; i < t->argl[0] && i + 1 < LG_NAME_MAX; i++)
		t->name[i] = (char)toupper((unsigned char)t->argv[0][i]);
	return 0;
fail:
	lg_tmpl_free(t);
	return -EINVAL;
}

int lg_mix_parse(struct lg_tmpl *t, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char num[32], *end;
	double w;

	memset(t, 0, sizeof(*t));
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(num))
		return -EINVAL;
	memcpy(num, spec, (size_t)(colon - spec));
	num[colon - spec] = '\0';
	if (!isdigit((unsigned char)num[0]) && num[0] != '.')
		return -EINVAL; /* no sign, no "inf"/"nan", no leading space */
	w = strtod(num, &end);
	if (*end || !(w > 0) || w > 100)
		return -EINVAL;
	if (lg_tmpl_parse(t, colon + 1) < 0)
		return -EINVAL;
	t->text = colon + 1;
	t->weight = (uint32_t)llround(w * (LG_MIX_ONE / 100));
	if (!t->weight) { /* below the resolution */
		lg_tmpl_free(t);
		return -EINVAL;
	}
	return 0;
}

void lg_tmpl_free(struct lg_tmpl *t)
{
	if (t->argv)
		for (int i = 0; i < t->argc; i++)
			free(t->argv[i]);
	free(t->argv);
	free(t->argl);
	t->argv = NULL;
	t->argl = NULL;
	t->argc = 0;
}

size_t lg_tmpl_req_max(const struct lg_tmpl *t)
{
	size_t n = 16; /* "*argc\r\n" */

	for (int i = 0; i < t->argc; i++)
		n += 24 + t->argl[i]; /* "$len\r\n" bytes "\r\n" */
	return n;
}

int64_t lg_mix_total(const struct lg_tmpl *t, int n)
{
	int64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += t[i].weight;
	return sum > LG_MIX_ONE ? -EINVAL : sum;
}

int lg_mix_pick(const struct lg_tmpl *t, int n, uint32_t r)
{
	uint64_t cum = 0;

	for (int i = 0; i < n; i++) {
		cum += t[i].weight;
		if (r < cum)
			return i;
	}
	return -1;
}
