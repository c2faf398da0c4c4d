/*
 * dll_probe.h - does a running program load DLLs planted in its current
 * directory or on PATH (dll_probe.c)?
 */
#ifndef DLL_PROBE_H
#define DLL_PROBE_H

#include <windows.h>

/* tray_sender --dll-probe ...: the exit code for tray_sender. */
int dll_probe_run(int argc, char **argv);

#endif /* DLL_PROBE_H */
