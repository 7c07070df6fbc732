/*
 * sanitized.h — TEST_SANITIZED: 1 when the test is built with AddressSanitizer or
 * ThreadSanitizer (gcc's __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__, clang's __has_feature),
 * else 0.
 *
 * Contract: a randomised model test that repeats the same configuration (operation mix,
 * sizes, operation count) under several seeds runs it under TEST_SEEDS(n) seeds: all n in
 * release builds, the first one in sanitizer builds, whose instrumented code runs 3-5x
 * slower (the ptree model tests were 63 of the ASan kvmap binary's 134 s). Every
 * configuration, and with it every code path and assertion, still runs under the sanitizer;
 * only the repetitions with other random streams are left to the release build. Tests whose
 * seeds differ in configuration are not reduced in seeds; where such a test checks the whole
 * structure after every operation (cost growing with the square of its length), TEST_OPS(n)
 * runs half of each random stream under a sanitizer: every configuration still runs there,
 * and the release build runs the streams whole. The same halving serves a structure built to
 * a size for a per-element figure (ptree's million-element builds): the sanitizer run takes
 * every path at half the size, the release build checks the figure at the full one.
 */
#ifndef KVSD_TESTS_UNIT_SANITIZED_H
#define KVSD_TESTS_UNIT_SANITIZED_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SANITIZED 1
#endif
#endif
#ifndef TEST_SANITIZED
#define TEST_SANITIZED 0
#endif

/* seeds to run of a configuration written for n: n, or 1 under a sanitizer */
#define TEST_SEEDS(n) (TEST_SANITIZED ? 1 : (n))
/* operations to run of a random stream written for n: n, or half under a sanitizer */
#define TEST_OPS(n) (TEST_SANITIZED ? (n) / 2 : (n))

#endif
