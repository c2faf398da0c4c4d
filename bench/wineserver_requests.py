#!/usr/bin/env python3
"""wineserver_requests.py - wineserver requests per bench process, from a +server trace of
pipes-bench (docs/PERFORMANCE.md, "How it measures" and PERF-9).

Trace one pass under Wine with its own prefix (so no other program's requests are mixed in), then
read it:

    PIPES_WINEDEBUG=+server cmake/wine-run.sh /tmp/trace/wineprefix $PWD/build/bin/pipes-bench.exe \\
        --only throughput --reps 1 > trace.txt 2>&1
    python3 bench/wineserver_requests.py trace.txt [--per N] [--match TEXT] [--top K]

Every request line ("tid: name( ...") is counted for the process of its thread; replies ("tid:
name() = status { ... }") are only read for ids. Threads are mapped to processes as the trace goes
(ids are reused): a process's first thread from its init_first_thread reply, which also starts a
new record for its process id, every other thread from the new_thread reply of the thread that made
it (pipes-bench makes no thread in another process). A bench child is named from the command line
its driver gave new_process ("server lib fanin 64 B 8 conn": role, program, scenario, --size,
--conns). Printed per child: the requests in all, then by name, most first (all names, or the first
K with --top K); with --per N, each divided by N (a pass's messages: 5,000 in the throughput
scenario at 64 B and 4 KiB, 6,000 in fan-in); --match keeps the children whose name contains TEXT.
Start-up and exit are counted too (about 1,000 requests a process, alike in every program).
"""
import collections
import re
import sys

REQUEST = re.compile(r'^([0-9a-f]{4,}): ([a-z_]+)\(')
REPLY_OK = re.compile(r'^([0-9a-f]{4,}): ([a-z_]+)\(\) = 0 ')
CHILD = re.compile(r'--role (\w+) --impl (\w+).*?--scenario (\w+).*?--size (\d+).*?--conns (\d+)')


def read(path):
    """Returns {process record: name} and {process record: Counter of request names}. A record is a
    process id with the number of the init_first_thread reply that started it, so a process id
    Wine reuses later starts a new record."""
    tid_record = {}
    pid_record = {}
    naming = {}  # creating thread -> the name of the child whose new_process reply is due
    names = {}
    counts = collections.defaultdict(collections.Counter)
    with open(path, errors='replace') as trace:
        for line in trace:
            reply = REPLY_OK.match(line)
            if reply:
                tid, request = reply.group(1), reply.group(2)
                if request == 'init_first_thread':
                    pid = re.search(r'pid=([0-9a-f]+)', line).group(1)
                    pid_record[pid] = (pid, len(pid_record))
                    tid_record[tid] = pid_record[pid]
                    if pid in naming:
                        names[pid_record[pid]] = naming.pop(pid)
                elif request == 'new_thread' and tid in tid_record:
                    # Credited to the creator's process: pipes-bench makes no remote threads.
                    tid_record[re.search(r'tid=([0-9a-f]+)', line).group(1)] = tid_record[tid]
                elif request == 'new_process' and tid in naming:
                    naming[re.search(r'pid=([0-9a-f]+)', line).group(1)] = naming.pop(tid)
                continue
            m = REQUEST.match(line)
            if m is None or line.startswith(') = ', m.end()):
                continue  # not a request (a failed reply, or other output)
            tid, request = m.group(1), m.group(2)
            if request == 'new_process':
                child = CHILD.search(line)
                if child:
                    role, impl, scenario, size, conns = child.groups()
                    naming[tid] = '%s %s %s %s B %s conn' % (role, impl, scenario, size, conns)
            counts[tid_record.get(tid, ('?' + tid, -1))][request] += 1
    return names, counts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0])
        print('usage: wineserver_requests.py TRACE [--per N] [--match TEXT] [--top K]')
        return 2
    per = float(argv[argv.index('--per') + 1]) if '--per' in argv else 1.0
    match = argv[argv.index('--match') + 1] if '--match' in argv else ''
    top = int(argv[argv.index('--top') + 1]) if '--top' in argv else None
    names, counts = read(argv[1])
    for process, name in names.items():
        if match not in name:
            continue
        c = counts[process]
        fmt = '%d' if per == 1.0 else '%.3f'
        by_name = ' '.join(('%s=' + fmt) % (k, v / per) for k, v in c.most_common(top))
        print(('%-40s total=' + fmt + '  %s') % (name, sum(c.values()) / per, by_name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
