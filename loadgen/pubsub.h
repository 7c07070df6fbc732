/*
 * pubsub.h — kvsd-loadgen's Pub/Sub mode (--pubsub): fan-out throughput and
 * publish-to-receive latency.
 *
 * --subscribers S connections SUBSCRIBE (or, with --psubscribe, PSUBSCRIBE)
 * to one of --channels C channels each (subscriber i takes channel i % C;
 * its pattern is the channel's name followed by '*', which matches that
 * channel only), spread over the loadgen threads; --publishers N connections
 * PUBLISH round-robin over the channels, closed loop (up to -P in flight
 * each) or at --rate publishes/s in total. A message is -d bytes (at least
 * LG_PS_HDR): its send time (CLOCK_MONOTONIC ns; the due time in open
 * loop), the publisher's number and the message's sequence number on its
 * (publisher, channel) pair, in fixed-width hex, then filler.
 *
 * Each subscriber checks every publisher's sequence: a number above the one
 * expected is out of order (a gap), one below is a duplicate (or a late
 * one); after the publishers have finished, the subscribers drain until they
 * have every acknowledged message or nothing arrived for LG_PS_QUIET_NS, and
 * what is still missing is lost. The run's delivered messages should be the
 * sum of PUBLISH's replies, and loss, duplicates and out-of-order counts 0.
 *
 * Reporting: PUBLISH's own latency (request to reply) is the CMD row and the
 * top-level "requests" / "ops_per_sec" of --json; the timeline (progress
 * line, --plot) counts delivered messages and their publish-to-receive
 * latency; lg_pubsub_print / lg_pubsub_json add the delivery figures (JSON
 * object "pubsub").
 *
 * Threads: lg_pubsub_setup runs in main before the workers start;
 * lg_pubsub_worker_main is a worker thread's body in this mode (in place of
 * lg_worker_main); the report functions run after every worker was joined.
 * Errors: lg_pubsub_setup exits with a usage error for options this mode
 * does not take.
 */
#ifndef KVSD_LOADGEN_PUBSUB_H
#define KVSD_LOADGEN_PUBSUB_H

#include <stdint.h>
#include <stdio.h>

struct lg_config;

#define LG_PS_HDR      46 /* "T<16 hex> P<8 hex> S<16 hex> " */
#define LG_PS_QUIET_NS (2ULL * 1000000000ULL)

/* Check the options, raise the fd limit for the connections, allocate the
 * shared counters and size req_max. Exits 1 on a usage error. */
void lg_pubsub_setup(struct lg_config *c);
void *lg_pubsub_worker_main(void *arg);
/* After the join: the delivery summary on stdout; the "pubsub" JSON member
 * (written as `"pubsub": {...}` without a trailing comma). t_measure: the
 * start of the measured window. */
void lg_pubsub_print(const struct lg_config *c, uint64_t t_measure);
void lg_pubsub_json(FILE *f, const struct lg_config *c, uint64_t t_measure);

#endif
