/*
 * tray_squat.h - a pipe-name squatter for the tray tests (tray_squat.c).
 */
#ifndef TRAY_SQUAT_H
#define TRAY_SQUAT_H

#include <windows.h>

/* Holds pipe until until_file exists; the exit code for tray_sender. */
int tray_squat_run(const wchar_t *pipe, const char *until_file, const char *record_path);

#endif /* TRAY_SQUAT_H */
