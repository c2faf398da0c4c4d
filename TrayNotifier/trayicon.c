/*
 * trayicon.c - one small helper per Shell_NotifyIconW call.
 *
 * The icon is identified by hWnd + uID, not NIF_GUID: a GUID ties the icon
 * to the exe's path, which breaks when the installer moves or upgrades it.
 */
#include "app.h"

#include <shellapi.h>

#include <string.h>

static void nid_init(NOTIFYICONDATAW *nid, HWND hwnd)
{
    memset(nid, 0, sizeof(*nid));
    nid->cbSize = sizeof(*nid);
    nid->hWnd = hwnd;
    nid->uID = TRAY_ICON_UID;
}

void tray_copy_truncated(wchar_t *dst, size_t cap, const wchar_t *src)
{
    size_t len = wcslen(src), keep;
    if (cap == 0) {
        return;
    }
    if (len < cap) {
        memcpy(dst, src, (len + 1) * sizeof(wchar_t));
        return;
    }
    /* Room for the text, an ellipsis and the NUL; never split a surrogate pair. */
    keep = cap >= 2 ? cap - 2 : 0;
    if (keep > 0 && src[keep - 1] >= 0xD800 && src[keep - 1] <= 0xDBFF) {
        --keep;
    }
    memcpy(dst, src, keep * sizeof(wchar_t));
    if (cap >= 2) {
        dst[keep++] = L'\x2026';
    }
    dst[keep] = L'\0';
}

BOOL tray_icon_add(HWND hwnd, HICON icon, const wchar_t *tip)
{
    NOTIFYICONDATAW nid;
    nid_init(&nid, hwnd);
    nid.uFlags = NIF_MESSAGE | NIF_ICON | NIF_TIP | NIF_SHOWTIP;
    nid.uCallbackMessage = WM_APP_TRAY;
    nid.hIcon = icon;
    tray_copy_truncated(nid.szTip, ARRAYSIZE(nid.szTip), tip);
    if (!Shell_NotifyIconW(NIM_ADD, &nid)) {
        return FALSE;
    }
    /* Version 4 must be requested after every NIM_ADD: it selects the
     * callback format (event in LOWORD(lParam), anchor point in wParam). */
    nid.uVersion = NOTIFYICON_VERSION_4;
    if (!Shell_NotifyIconW(NIM_SETVERSION, &nid)) {
        Shell_NotifyIconW(NIM_DELETE, &nid); /* all or nothing: the caller retries both */
        return FALSE;
    }
    return TRUE;
}

BOOL tray_icon_delete(HWND hwnd)
{
    NOTIFYICONDATAW nid;
    nid_init(&nid, hwnd);
    return Shell_NotifyIconW(NIM_DELETE, &nid);
}

BOOL tray_icon_focus(HWND hwnd)
{
    NOTIFYICONDATAW nid;
    nid_init(&nid, hwnd);
    return Shell_NotifyIconW(NIM_SETFOCUS, &nid);
}

BOOL tray_icon_set_tip(HWND hwnd, const wchar_t *tip)
{
    NOTIFYICONDATAW nid;
    nid_init(&nid, hwnd);
    nid.uFlags = NIF_TIP | NIF_SHOWTIP;
    tray_copy_truncated(nid.szTip, ARRAYSIZE(nid.szTip), tip);
    return Shell_NotifyIconW(NIM_MODIFY, &nid);
}

BOOL tray_icon_balloon(HWND hwnd, const tray_balloon *balloon)
{
    static const DWORD level_flags[3] = {NIIF_INFO, NIIF_WARNING, NIIF_ERROR};
    NOTIFYICONDATAW nid;
    nid_init(&nid, hwnd);
    nid.uFlags = NIF_INFO;
    tray_copy_truncated(nid.szInfoTitle, ARRAYSIZE(nid.szInfoTitle), balloon->title);
    tray_copy_truncated(nid.szInfo, ARRAYSIZE(nid.szInfo), balloon->text);
    if (nid.szInfo[0] == L'\0') {
        /* An empty szInfo removes the balloon instead of showing one. */
        tray_copy_truncated(nid.szInfo, ARRAYSIZE(nid.szInfo), balloon->title);
    }
    nid.dwInfoFlags = level_flags[(unsigned)balloon->level <= 2u ? (unsigned)balloon->level : 0u] |
                      NIIF_RESPECT_QUIET_TIME;
    return Shell_NotifyIconW(NIM_MODIFY, &nid);
}
