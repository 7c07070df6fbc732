/*
 * info.h — the INFO command's text, section by section, with Redis's field
 * names so redis-cli --stat, exporters and client libraries parse it.
 *
 * Threads: info_generate from any worker; info_cron from one worker's cron
 * (it samples throughput for instantaneous_ops_per_sec under a lock).
 */
#ifndef KVSD_INFO_H
#define KVSD_INFO_H

#include <stddef.h>

struct db;

/* The Redis version kvsd reports (INFO's redis_version; LOLWUT names it). */
#define INFO_REDIS_VERSION "7.0.15"

/* Builds INFO's text for the given section names (NULL/0 = default set).
 * Returns a mem_alloc'd string (*len bytes), or NULL if no section matched. */
char *info_generate(struct db *db, const char *const *sections, const size_t *lens, int n,
		    size_t *len);
void info_cron(void);

#endif
