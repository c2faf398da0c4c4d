/*
 * sessionhost.c - which session's processes serve a session's tray: the
 * session itself. This is a link seam: PipesService.exe and the unit tests
 * link this file (through the engine library), and only the test program
 * PipesService-twosession.exe links tests/standin_session.c instead, which
 * makes one more session played by the console session's processes (Wine
 * has one session; the end-to-end suite needs two, docs/SERVICE.md "Testing").
 *
 * Why the seam opens nothing in the product: the alternative definitions
 * are compiled only into that test program (a CMake target the MSI does not
 * package and Visual Studio does not build), and nothing the shipped
 * PipesService.exe reads (registry, environment, command line) can switch
 * them on: the code is not in it. With these definitions the trust check of
 * a tray pipe (delivery.c: created in the session, owned by its user) is
 * exactly as before.
 */
#include "svc.h"

uint32_t svc_session_host(uint32_t session)
{
    return session;
}

uint32_t svc_session_stand_in(uint32_t host)
{
    (void)host;
    return 0;
}
