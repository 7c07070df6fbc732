/*
 * wsq_atomic.h — the atomic operations of wsq.c, spelled once so that a test
 * can put a model checker underneath them.
 *
 * In every normal build these are exactly the C11 <stdatomic.h> operations:
 * the macros expand to them and cost nothing. The exhaustive interleaving test
 * (tests/unit/concurrency/test_wsq_interleave.c) compiles concurrency/wsq.c
 * itself with tests/unit/concurrency/model/ first on its include path, where a
 * header of the same name (concurrency/wsq_atomic.h) makes each operation a
 * scheduling point of a model checker with store buffers; so that test runs
 * the deque's real code, and an edit to wsq.c changes what it checks.
 *
 * Only wsq.c includes this header. Every operation keeps its memory order
 * argument, and each call site in wsq.c says why that order.
 */
#ifndef KVSD_WSQ_ATOMIC_H
#define KVSD_WSQ_ATOMIC_H

#include <stdatomic.h>

#define WSQ_LOAD(p, mo)	    atomic_load_explicit(p, mo)
#define WSQ_STORE(p, v, mo) atomic_store_explicit(p, v, mo)
#define WSQ_CAS(p, expected, desired, mo_ok, mo_fail)                                              \
	atomic_compare_exchange_strong_explicit(p, expected, desired, mo_ok, mo_fail)
#define WSQ_FENCE(mo) atomic_thread_fence(mo)

#endif
