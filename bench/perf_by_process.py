#!/usr/bin/env python3
"""perf_by_process.py - per-measurement process figures from a perf recording of pipes-bench
(docs/PERFORMANCE.md, PERF-8).

Record one run of pipes-bench's throughput scenario with the whole machine in view, then read it:

    perf record -e cpu-clock,sched:sched_switch -F 4000 -a -o tp.data -- \\
        cmake/wine-run.sh $PWD/build/wineprefix $PWD/build/bin/pipes-bench.exe --only throughput --reps 3
    perf script -i tp.data -F comm,pid,tid,time,event > tp.txt
    python3 bench/perf_by_process.py tp.txt

For every measurement the driver starts a server, then a client (two processes named
pipes-bench.exe); with --only throughput a pass is 16 measurements, 4 sizes x 4 programs, in this
order, in a build without libuv (the dev build; `./build.sh bench` adds libuv as a fifth program,
which this reading does not expect). Printed per size and program, medians over the passes: cpu-clock samples and context switches
(sched_switch: a thread of the process leaving the CPU) of the server and of the client, each over
the whole process (Wine's start-up included), and wineserver's samples while the server lived.
A process alive for less than 0.1 s (Wine's short-lived launcher of the same name) is skipped.
"""
import bisect
import collections
import re
import statistics
import sys

SIZES = ['64 B', '4 KiB', '64 KiB', '1 MiB']
PROGRAMS = ['lib', 'sync', 'iocp', 'iocps']
LINE = re.compile(r'^\s*(\S.*?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(?:\d+\s+)?([\w:-]+):')


def main(path):
    procs = collections.OrderedDict()
    wineserver = []
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, t, event = m.group(1), m.group(2), float(m.group(4)), m.group(5)
            if comm.startswith('wineserver'):
                if event.startswith('cpu-clock'):
                    wineserver.append(t)
                continue
            if comm != 'pipes-bench.exe':
                continue
            p = procs.setdefault(pid, {'first': t, 'last': t, 'cpu': 0, 'switches': 0})
            p['last'] = t
            if event.startswith('cpu-clock'):
                p['cpu'] += 1
            elif 'sched_switch' in event:
                p['switches'] += 1
    wineserver.sort()
    lasting = [p for p in procs.values() if p['last'] - p['first'] > 0.1]
    children = lasting[1:]  # the first is the driver
    rows = collections.defaultdict(list)
    for k in range(len(children) // 2):
        server, client = children[2 * k], children[2 * k + 1]
        case = k % 16
        ws = bisect.bisect(wineserver, server['last']) - bisect.bisect(wineserver, server['first'])
        rows[(case // 4, case % 4)].append(
            (server['cpu'], client['cpu'], server['switches'], client['switches'], ws))
    for key in sorted(rows):
        r = rows[key]
        med = [statistics.median(x[i] for x in r) for i in range(5)]
        print('%-6s %-5s passes %d  samples server %6.0f client %6.0f  switches server %6.0f '
              'client %6.0f  wineserver samples %6.0f' % ((SIZES[key[0]], PROGRAMS[key[1]], len(r)) +
                                                          tuple(med)))


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: perf_by_process.py PERF_SCRIPT_OUTPUT')
    main(sys.argv[1])
