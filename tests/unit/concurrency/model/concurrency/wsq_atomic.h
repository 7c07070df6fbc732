/*
 * wsq_atomic.h (model) — replaces concurrency/wsq_atomic.h when the interleaving
 * test compiles concurrency/wsq.c: this directory comes first on that target's
 * include path (tests/unit/concurrency/meson.build), so wsq.c's
 * #include "concurrency/wsq_atomic.h" finds this file.
 *
 * Each operation calls the model checker in test_wsq_interleave.c, which
 * performs it on the model's memory and store buffers and makes it a
 * scheduling point. Values travel as 64-bit patterns: every atomic in wsq.c is
 * an int64_t or a pointer (checked below).
 */
#ifndef KVSD_WSQ_ATOMIC_H
#define KVSD_WSQ_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

int64_t mc_load(const void *p, memory_order mo);
void mc_store(const void *p, int64_t v, memory_order mo);
/* 1 on success; on failure *expected gets the value found. */
int mc_cas(const void *p, int64_t *expected, int64_t desired, memory_order ok, memory_order fail);
void mc_fence(memory_order mo);

/* the plain type of the atomic object p points to */
#define MC_T(p)	    __typeof__(atomic_load_explicit(p, memory_order_relaxed))
#define MC_CHECK(p) _Static_assert(sizeof(MC_T(p)) == sizeof(int64_t), "model: 64-bit atomics only")

#define WSQ_LOAD(p, mo)                                                                            \
	({                                                                                         \
		MC_CHECK(p);                                                                       \
		int64_t r_ = mc_load((const void *)(p), mo);                                       \
		MC_T(p) v_;                                                                        \
		memcpy(&v_, &r_, sizeof(v_));                                                      \
		v_;                                                                                \
	})

#define WSQ_STORE(p, v, mo)                                                                        \
	({                                                                                         \
		MC_CHECK(p);                                                                       \
		MC_T(p) v_ = (v);                                                                  \
		int64_t r_;                                                                        \
		memcpy(&r_, &v_, sizeof(r_));                                                      \
		mc_store((const void *)(p), r_, mo);                                               \
	})

#define WSQ_CAS(p, expected, desired, mo_ok, mo_fail)                                              \
	({                                                                                         \
		MC_CHECK(p);                                                                       \
		MC_T(p) d_ = (desired);                                                            \
		int64_t e_, r_;                                                                    \
		int ok_;                                                                           \
		memcpy(&e_, (expected), sizeof(e_));                                               \
		memcpy(&r_, &d_, sizeof(r_));                                                      \
		ok_ = mc_cas((const void *)(p), &e_, r_, mo_ok, mo_fail);                          \
		memcpy((expected), &e_, sizeof(e_));                                               \
		ok_;                                                                               \
	})

#define WSQ_FENCE(mo) mc_fence(mo)

#endif
