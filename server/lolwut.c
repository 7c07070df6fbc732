/*
 * lolwut.c — LOLWUT's drawings as Redis 7.0 makes them: version 5, Georg
 * Nees's "Schotter" (squares that rotate and shift more the lower their row,
 * drawn with Bresenham lines on a canvas rendered as Unicode Braille, 2x4
 * pixels a character), and version 6, a skyline from the 8-bit game
 * Plaguemon (skyscrapers in three grays with random windows, one ANSI
 * colour escape per pixel). Randomness comes from the worker context's
 * generator, so a drawing differs from Redis's as two of Redis's differ
 * from each other; sizes, characters and captions are Redis's.
 */
#include "server/lolwut.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct canvas {
	int width, height;
	char *pixels;
};

struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = mem_realloc(t->p, t->cap);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* rand() in [0, RAND_MAX] as the drawings use it */
static int rnd(struct wctx *w)
{
	return (int)(wctx_rand64(w) >> 33); /* 31 bits, like glibc's RAND_MAX */
}

#define RND_MAX 0x7fffffff

static void canvas_init(struct canvas *c, int width, int height, int bg)
{
	c->width = width;
	c->height = height;
	c->pixels = mem_alloc((size_t)width * (size_t)height + 1);
	memset(c->pixels, bg, (size_t)width * (size_t)height);
}

static void pixel_set(struct canvas *c, int x, int y, int color)
{
	if (x >= 0 && x < c->width && y >= 0 && y < c->height)
		c->pixels[x + y * c->width] = (char)color;
}

static int pixel(const struct canvas *c, int x, int y)
{
	if (x < 0 || x >= c->width || y < 0 || y >= c->height)
		return 0;
	return c->pixels[x + y * c->width];
}

static void line(struct canvas *c, int x1, int y1, int x2, int y2, int color)
{
	int dx = abs(x2 - x1), dy = abs(y2 - y1);
	int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
	int err = dx - dy, e2;

	for (;;) {
		pixel_set(c, x1, y1, color);
		if (x1 == x2 && y1 == y2)
			break;
		e2 = err * 2;
		if (e2 > -dy) {
			err -= dy;
			x1 += sx;
		}
		if (e2 < dx) {
			err += dx;
			y1 += sy;
		}
	}
}

/* A square centred on x,y: its corners lie on the circle of radius
 * size / sqrt(2), starting at 45 degrees plus the rotation. */
static void square(struct canvas *c, int x, int y, float size, float angle, int color)
{
	int px[4], py[4];
	float k = (float)M_PI / 4 + angle;

	size /= 1.4142135623f;
	size = roundf(size);
	for (int j = 0; j < 4; j++) {
		px[j] = (int)roundf(sinf(k) * size + (float)x);
		py[j] = (int)roundf(cosf(k) * size + (float)y);
		k += (float)M_PI / 2;
	}
	for (int j = 0; j < 4; j++)
		line(c, px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
}

/* Braille: bits 0-2 and 6 are the left column top-down, 3-5 and 7 the right. */
static void render_braille(const struct canvas *c, struct text *t)
{
	for (int y = 0; y < c->height; y += 4) {
		for (int x = 0; x < c->width; x += 2) {
			int b = 0, code;
			char u[3];

			b |= pixel(c, x, y) ? 1 << 0 : 0;
			b |= pixel(c, x, y + 1) ? 1 << 1 : 0;
			b |= pixel(c, x, y + 2) ? 1 << 2 : 0;
			b |= pixel(c, x + 1, y) ? 1 << 3 : 0;
			b |= pixel(c, x + 1, y + 1) ? 1 << 4 : 0;
			b |= pixel(c, x + 1, y + 2) ? 1 << 5 : 0;
			b |= pixel(c, x, y + 3) ? 1 << 6 : 0;
			b |= pixel(c, x + 1, y + 3) ? 1 << 7 : 0;
			code = 0x2800 + b;
			u[0] = (char)(0xE0 | (code >> 12));
			u[1] = (char)(0x80 | ((code >> 6) & 0x3F));
			u[2] = (char)(0x80 | (code & 0x3F));
			put(t, u, 3);
		}
		if (y != c->height - 1) /* Redis's test: a newline after nearly every row */
			put(t, "\n", 1);
	}
}

char *lolwut_schotter(struct wctx *w, long cols, long per_row, long per_col, const char *version,
		      size_t *len)
{
	struct text t = {mem_alloc(256), 0, 256};
	struct canvas c;
	int width, padding, height;
	float side;
	char tail[128];

	cols = cols < 1 ? 1 : cols > 1000 ? 1000 : cols;
	per_row = per_row < 1 ? 1 : per_row > 200 ? 200 : per_row;
	per_col = per_col < 1 ? 1 : per_col > 200 ? 200 : per_col;
	width = (int)cols * 2;
	padding = width > 4 ? 2 : 0;
	side = (float)(width - padding * 2) / (float)per_row;
	height = (int)(side * (float)per_col + (float)(padding * 2));
	canvas_init(&c, width, height, 0);
	for (int y = 0; y < per_col; y++) {
		for (int x = 0; x < per_row; x++) {
			int sx = (int)((float)x * side + side / 2 + (float)padding);
			int sy = (int)((float)y * side + side / 2 + (float)padding);
			float angle = 0;

			if (y > 1) {
				float r1 =
				    (float)rnd(w) / (float)RND_MAX / (float)per_col * (float)y;
				float r2 =
				    (float)rnd(w) / (float)RND_MAX / (float)per_col * (float)y;
				float r3 =
				    (float)rnd(w) / (float)RND_MAX / (float)per_col * (float)y;

				if (rnd(w) % 2)
					r1 = -r1;
				if (rnd(w) % 2)
					r2 = -r2;
				if (rnd(w) % 2)
					r3 = -r3;
				angle = r1;
				sx += (int)(r2 * side / 3);
				sy += (int)(r3 * side / 3);
			}
			square(&c, sx, sy, side, angle, 1);
		}
	}
	t.p[0] = '\0';
	render_braille(&c, &t);
	snprintf(tail, sizeof(tail),
		 "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. %s\n", version);
	put(&t, tail, strlen(tail));
	mem_free(c.pixels);
	*len = t.len;
	return t.p;
}

struct skyscraper {
	int xoff, width, height, windows, color;
};

static void skyscraper(struct wctx *w, struct canvas *c, const struct skyscraper *s)
{
	int starty = c->height - 1, endy = starty - s->height + 1;

	for (int y = starty; y >= endy; y--) {
		for (int x = s->xoff; x < s->xoff + s->width; x++) {
			int color = s->color;

			/* the roof is four pixels narrower */
			if (y == endy && (x <= s->xoff + 1 || x >= s->xoff + s->width - 2))
				continue;
			if (s->windows && x > s->xoff + 1 && x < s->xoff + s->width - 2 &&
			    y > endy + 1 && y < starty - 1) {
				int relx = x - (s->xoff + 1), rely = y - (endy + 1);

				/* windows two pixels wide, one tall, in one of the grays */
				if (relx / 2 % 2 && rely % 2) {
					do
						color = 1 + rnd(w) % 2;
					while (color == s->color);
					if (relx % 2)
						color = pixel(c, x - 1, y);
				}
			}
			pixel_set(c, x, y, color);
		}
	}
}

char *lolwut_skyline(struct wctx *w, long cols, long rows, const char *version, size_t *len)
{
	static const char *const esc[] = {"0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"};
	struct text t = {mem_alloc(256), 0, 256};
	struct skyscraper s;
	struct canvas c;
	char tail[192];

	cols = cols < 1 ? 1 : cols > 1000 ? 1000 : cols;
	rows = rows < 1 ? 1 : rows > 1000 ? 1000 : rows;
	canvas_init(&c, (int)cols, (int)rows, 3);
	/* background skyscrapers without windows, the lighter gray behind */
	for (int color = 2; color >= 1; color--) {
		s.color = color;
		for (int off = -10; off < c.width;) {
			off += rnd(w) % 8;
			s.xoff = off;
			s.width = 10 + rnd(w) % 9;
			if (color == 2)
				s.height = c.height / 2 + rnd(w) % c.height / 2;
			else
				s.height = c.height / 2 + rnd(w) % c.height / 3;
			s.windows = 0;
			skyscraper(w, &c, &s);
			off += color == 2 ? s.width / 2 : s.width + 1;
		}
	}
	/* the foreground, black with windows */
	s.color = 0;
	for (int off = -10; off < c.width;) {
		off += rnd(w) % 8;
		s.xoff = off;
		s.width = 5 + rnd(w) % 14;
		if (s.width % 4)
			s.width += s.width % 3;
		s.height = c.height / 3 + rnd(w) % c.height / 2;
		s.windows = 1;
		skyscraper(w, &c, &s);
		off += s.width + 5;
	}
	t.p[0] = '\0';
	for (int y = 0; y < c.height; y++) {
		for (int x = 0; x < c.width; x++) {
			int color = pixel(&c, x, y);
			char px[32];
			int n = snprintf(px, sizeof(px), "\033[%s \033[0m",
					 esc[color >= 0 && color <= 3 ? color : 0]);

			put(&t, px, (size_t)n);
		}
		if (y != c.height - 1)
			put(&t, "\n", 1);
	}
	snprintf(tail, sizeof(tail),
		 "\nDedicated to the 8 bit game developers of past and present.\n"
		 "Original 8 bit image from Plaguemon by hikikomori. Redis ver. %s\n",
		 version);
	put(&t, tail, strlen(tail));
	mem_free(c.pixels);
	*len = t.len;
	return t.p;
}
