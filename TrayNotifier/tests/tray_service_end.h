/*
 * tray_service_end.h - the service's end of a tray connection, for the
 * tray tests (tray_service_end.c).
 */
#ifndef TRAY_SERVICE_END_H
#define TRAY_SERVICE_END_H

#include <windows.h>

/* Runs until the file `until` exists; the exit code for tray_sender. */
int tray_service_end_run(const wchar_t *pipe, const char *out, const char *spool,
                         const char *until, int break_first);

#endif /* TRAY_SERVICE_END_H */
