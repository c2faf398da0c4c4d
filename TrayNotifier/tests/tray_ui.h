/*
 * tray_ui.h - the running tray's menu commands, for tests (tray_ui.c).
 */
#ifndef TRAY_UI_H
#define TRAY_UI_H

#include <windows.h>

/* Runs action ("about", "copy", "folder") on the tray serving pipe; the
 * exit code for tray_sender (0 = as expected). */
int tray_ui_run(const char *action, const wchar_t *pipe);

#endif /* TRAY_UI_H */
