/*
 * tray_starting_service.h - a service that connects to a tray while it is
 * still starting, for the answers suite (tray_starting_service.c).
 */
#ifndef TRAY_STARTING_SERVICE_H
#define TRAY_STARTING_SERVICE_H

#include <windows.h>

/* Runs under the Service Control Manager; the exit code for tray_sender. */
int tray_starting_service_run(const wchar_t *pipe, const char *out, const char *until);

#endif /* TRAY_STARTING_SERVICE_H */
