/*
 * standin_session.c - the test program PipesService-twosession.exe's side
 * of the link seam of sessionhost.c: one more interactive session, the
 * console session's id + 1 (session 2 under Wine, where every process is in
 * session 1), played by the console session's processes. The service then
 * enumerates both, delivers to \\.\pipe\Pipes.Notify.2 as to any session,
 * and a second TrayNotifier started with --pipe on that name is session 2's
 * tray: two sessions for run_answer_tests.sh.
 *
 * Why this is safe even in the test program: a stand-in session gains no
 * trust of its own. Its tray pipe must pass the same checks as its host's
 * (delivery.c: the pipe instance created in the host session, owned by the
 * host session's user), so only a process that could already serve the
 * console session's tray can receive the stand-in's notifications or answer
 * for it. And the product cannot reach this file: PipesService.exe links
 * sessionhost.c, which has no stand-in (see there).
 */
#include "svc.h"

/* The console session, or 0 when there is none (0xFFFFFFFF, or session 0). */
static uint32_t console_session(void)
{
    DWORD c = WTSGetActiveConsoleSessionId();
    return c == 0xFFFFFFFFu ? 0 : (uint32_t)c;
}

uint32_t svc_session_host(uint32_t session)
{
    uint32_t c = console_session();
    return c != 0 && session == c + 1 ? c : session;
}

uint32_t svc_session_stand_in(uint32_t host)
{
    uint32_t c = console_session();
    return c != 0 && host == c ? c + 1 : 0;
}
