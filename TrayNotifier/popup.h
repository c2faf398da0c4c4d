/*
 * popup.h - one Pipes notification window (popup.c); popups.c stacks them.
 *
 * A popup is a top-most tool window of standard controls: level icon, title
 * (bold), a line with the source and the sender, the full body in a
 * read-only multi-line edit (scroll bar when it is long), a progress bar
 * with its status, an "Open <host>" button, up to three action buttons (the
 * first is the default) and a Close button. Keyboard: Tab moves between the
 * buttons (IsDialogMessageW in the message loop), Enter presses the default
 * one, Esc closes. Colours follow the system's light or dark app theme and
 * high contrast; sizes follow the monitor's DPI.
 *
 * A summary popup shows only "+N more notifications" (a button that opens
 * the history window).
 *
 * Ownership: the popup owns its tray_popup_data (freed with the window).
 * GUI thread only.
 */
#ifndef TRAY_POPUP_H
#define TRAY_POPUP_H

#include "app.h"

#define POPUP_CLASS L"Pipes.TrayNotifier.Popup"
#define WM_POPUP_DESTROY (WM_APP + 10) /* posted by popups.c: destroy yourself now */

/* Creates a hidden popup for data (taken over) on the monitor at (x, y) in
 * screen coordinates; NULL on failure (data is freed). */
HWND popup_create(tray_app *app, tray_popup_data *data, POINT at);

/* Creates a hidden summary popup for `more` notifications not shown. */
HWND popup_create_summary(tray_app *app, unsigned more, POINT at);

/* Replaces what a popup shows (a tag update) in place; takes data over. */
void popup_set_data(HWND popup, tray_popup_data *data);

/* Sets the count of a summary popup. */
void popup_set_more(HWND popup, unsigned more);

/* The data a popup shows (NULL for a summary). */
const tray_popup_data *popup_data(HWND popup);

/* Width and height for the popup's DPI and content. */
SIZE popup_size(HWND popup);

/* Restarts the hide timeout (it runs only while the popup is visible and
 * neither hovered nor focused). */
void popup_restart_timeout(HWND popup);

/* Re-reads the theme (light, dark, high contrast) and repaints. */
void popup_apply_theme(HWND popup);

/* The time a popup stays (ms), 0 = until dismissed: sticky, urgent. */
unsigned popup_timeout_ms(const tray_app *app, const tray_popup_data *data);

#endif /* TRAY_POPUP_H */
