#!/usr/bin/env python3
"""test_info.py — INFO carries every field the issues spell out, by name.

Scripts, exporters and redis-cli --stat parse INFO by field name, and the
issues name kvsd's own fields (ebr_epoch, ebr_limbo_bytes, worker<N>:...).
This test is the contract: renaming or dropping one fails here.

Environment: see harness.py (KVSD_BIN, KVSD_EXTRA_ARGS). Exit status 0 on success.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep the source tree clean
import harness  # noqa: E402
from harness import parse  # noqa: E402

REQUIRED = {
    'server': ['redis_version', 'redis_mode', 'process_id', 'run_id', 'tcp_port',
               'uptime_in_seconds', 'hz', 'executable', 'config_file'],
    'clients': ['connected_clients', 'maxclients', 'blocked_clients'],
    'memory': ['used_memory', 'used_memory_human', 'used_memory_rss', 'used_memory_peak',
               'maxmemory', 'maxmemory_policy', 'mem_fragmentation_ratio', 'mem_allocator'],
    'persistence': ['loading', 'rdb_changes_since_last_save', 'aof_enabled'],
    'stats': ['total_connections_received', 'total_commands_processed',
              'instantaneous_ops_per_sec', 'total_net_input_bytes', 'total_net_output_bytes',
              'rejected_connections', 'expired_keys', 'expired_stale_perc', 'evicted_keys',
              'keyspace_hits', 'keyspace_misses', 'total_error_replies'],
    'replication': ['role'],
    'cpu': ['used_cpu_sys', 'used_cpu_user'],
    'kvsd': ['kvsd_version', 'map', 'workers', 'ebr_epoch', 'ebr_limbo_bytes'],
}


def fields(c, section):
    text = parse(c.cmd('INFO', section)).decode('latin-1')
    out = {}
    for line in text.split('\r\n'):
        if ':' in line and not line.startswith('#'):
            k, v = line.split(':', 1)
            out[k] = v
    return out


def main():
    fails = []
    with harness.kvsd_server() as s, s.client() as c:
        c.cmd('SET', 'k', 'v', 'EX', '100')
        c.cmd('GET', 'k')
        for section, names in REQUIRED.items():
            got = fields(c, section)
            for n in names:
                if n not in got:
                    fails.append('INFO %s has no %s' % (section, n))
        kv = fields(c, 'kvsd')
        workers = int(kv.get('workers', '0'))
        for i in range(workers):
            w = kv.get('worker%d' % i, '')
            if not re.fullmatch(r'tasks=\d+,steals=\d+,failed_steals=\d+,parks=\d+,wakeups=\d+.*', w):
                fails.append('INFO kvsd worker%d is %r' % (i, w))
        cs = fields(c, 'commandstats').get('cmdstat_get', '')
        if not re.match(r'calls=\d+,usec=\d+,usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=\d+', cs):
            fails.append('INFO commandstats cmdstat_get is %r' % cs)
        ks = fields(c, 'keyspace').get('db0', '')
        if not re.fullmatch(r'keys=1,expires=1,avg_ttl=\d+', ks):
            fails.append('INFO keyspace db0 is %r' % ks)
    for f in fails:
        print('FAIL: ' + f)
    print('info: %d failures' % len(fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
