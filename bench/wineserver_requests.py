#!/usr/bin/env python3
"""wineserver_requests.py - wineserver requests per bench process, from a +server trace of
pipes-bench (docs/PERFORMANCE.md, "How it measures" and PERF-9).

Trace one pass under Wine with its own prefix (so no other program's requests are mixed in), then
read it:

    PIPES_WINEDEBUG=+server cmake/wine-run.sh /tmp/trace/wineprefix $PWD/build/bin/pipes-bench.exe \\
        --only throughput --reps 1 > trace.txt 2>&1
    python3 bench/wineserver_requests.py trace.txt [--per N] [--match TEXT]

Every request line ("tid: name( ...") is counted for the process of its thread. Threads are mapped
to processes as the trace goes (thread ids are reused): a process's first thread from its
init_first_thread reply, every other thread from the new_thread reply of the thread that made it.
A bench child is named from the command line its driver gave new_process ("server lib throughput
64": role, program, scenario, --size). Printed per child: the requests in all, then by name, most
first; with --per N, each divided by N (a pass's messages: 5,000 in the throughput scenario at 64 B
and 4 KiB); --match keeps the children whose name contains TEXT. Start-up and exit are counted too
(about 1,000 requests a process, alike in every program).
"""
import collections
import re
import sys

REQUEST = re.compile(r'^([0-9a-f]{4}): ([a-z_]+)\(')
CHILD = re.compile(r'--role (\w+) --impl (\w+).*?--scenario (\w+).*?--size (\d+)')


def read(path):
    tid_process = {}
    naming = {}  # creating thread -> the name of the child whose new_process reply is due
    names = {}
    counts = collections.defaultdict(collections.Counter)
    with open(path, errors='replace') as trace:
        for line in trace:
            m = REQUEST.match(line)
            if m and line.startswith(') = ', m.end()):
                m = None  # a reply: "tid: name() = status { ... }"
            if m is None:
                tid = line[:4]
                if ': init_first_thread() = ' in line:
                    tid_process[tid] = re.search(r'pid=([0-9a-f]{4})', line).group(1)
                elif ': new_thread() = ' in line and tid in tid_process:
                    tid_process[re.search(r'tid=([0-9a-f]{4})', line).group(1)] = tid_process[tid]
                elif ': new_process() = ' in line and tid in naming:
                    names[re.search(r'pid=([0-9a-f]{4})', line).group(1)] = naming.pop(tid)
                continue
            tid, request = m.group(1), m.group(2)
            if request == 'new_process':
                child = CHILD.search(line)
                if child:
                    naming[tid] = ' '.join(child.groups())
            counts[tid_process.get(tid, '?' + tid)][request] += 1
    return names, counts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0])
        print('usage: wineserver_requests.py TRACE [--per N] [--match TEXT]')
        return 2
    per = float(argv[argv.index('--per') + 1]) if '--per' in argv else 1.0
    match = argv[argv.index('--match') + 1] if '--match' in argv else ''
    names, counts = read(argv[1])
    for process, name in names.items():
        if match not in name:
            continue
        c = counts[process]
        fmt = '%d' if per == 1.0 else '%.3f'
        by_name = ' '.join(('%s=' + fmt) % (k, v / per) for k, v in c.most_common(8))
        print(('%-32s total=' + fmt + '  %s') % (name, sum(c.values()) / per, by_name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
