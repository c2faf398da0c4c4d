/*
 * pipes_chaos.c - the random delays of the race-widening build (see
 * pipes_chaos.h). Compiled only into chaos variants.
 *
 * The delay at each point is drawn from one process-wide counter mixed with
 * splitmix64: no per-thread state, no locks, and no ordering of its own
 * between threads beyond the one Interlocked increment. Environment:
 *   PIPES_CHAOS_SEED   mixes into the draws (a run prints nothing; the seed
 *                      only varies runs, threads make them unrepeatable)
 *   PIPES_CHAOS_RATE   percent of points that delay at all (default 30)
 */
#include "pipes_chaos.h"

#include <windows.h>

#include <stdint.h>
#include <stdlib.h>

static volatile LONG64 g_draws;
static volatile LONG g_rate = -1;          /* percent; -1 = not read yet */
static volatile LONG64 g_seed;
static pipes_chaos_hook_fn volatile g_hook;

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static LONG rate_percent(void)
{
    LONG rate = InterlockedCompareExchange(&g_rate, 0, 0);
    if (rate < 0) {
        char buf[32];
        DWORD n = GetEnvironmentVariableA("PIPES_CHAOS_RATE", buf, sizeof buf);
        rate = 30;
        if (n > 0 && n < sizeof buf) {
            long v = strtol(buf, NULL, 10);
            if (v >= 0 && v <= 100)
                rate = (LONG)v;
        }
        n = GetEnvironmentVariableA("PIPES_CHAOS_SEED", buf, sizeof buf);
        if (n > 0 && n < sizeof buf)
            InterlockedExchange64(&g_seed, (LONG64)strtoull(buf, NULL, 10));
        else
            InterlockedExchange64(&g_seed, (LONG64)GetTickCount64() ^ GetCurrentProcessId());
        InterlockedExchange(&g_rate, rate);
    }
    return rate;
}

void pipes_chaos_point(const char *where)
{
    LONG rate = rate_percent();
    uint64_t r = mix((uint64_t)InterlockedIncrement64(&g_draws) ^
                     (uint64_t)InterlockedCompareExchange64(&g_seed, 0, 0));
    pipes_chaos_hook_fn hook;

    if ((LONG)(r % 100) < rate) {
        /* A third each: give up the time slice, sleep about 1 ms, about 2 ms. */
        switch ((r >> 8) % 3) {
        case 0: SwitchToThread(); break;
        case 1: Sleep(1); break;
        default: Sleep(2); break;
        }
    }
    hook = g_hook;
    if (hook)
        hook(where);
}

void pipes_chaos_set_hook_local(pipes_chaos_hook_fn hook)
{
    g_hook = hook;
    MemoryBarrier();
}
