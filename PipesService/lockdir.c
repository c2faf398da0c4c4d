/*
 * lockdir.c - pipes-lockdir.dll, the installer's first step into the
 * install folder: the deferred custom action LockInstallDir (as LocalSystem,
 * before InstallFiles; installer/Pipes.wxs, docs/INSTALLER.md). It makes the
 * folder one only administrators can change before any file lands in it or
 * any program runs from it, wherever INSTALLDIR points:
 *   - the folders above it must not let anyone else rename or re-ACL them
 *     (or it could be swapped later), and none may be a link;
 *   - the folder is created with, or given, owner Administrators and a
 *     protected DACL: full access SYSTEM and Administrators, read and
 *     execute Users and the service's account, inherited by what comes;
 *   - whatever was already in it (an older version, or something planted
 *     before the install) must be plain files and folders that a trusted
 *     account owns and nobody else may change.
 * Otherwise it says why (the installer's log and UI, and the Event Log) and
 * fails: the install stops and rolls back; a folder that failed the first
 * two checks is left unchanged.
 *
 * It runs from the installer's Binary table, not from the install folder,
 * and imports only system DLLs (KERNEL32, ADVAPI32, MSI, already loaded by
 * the installer; the C runtime statically linked with MSVC).
 */
#include <windows.h>

#include <msi.h>
#include <msiquery.h>
#include <stdio.h>
#include <wchar.h>

#include "messages.h"
#include "safedir.h"

#define INSTALL_DIR_SDDL                                                                         \
    L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICI;0x1200a9;;;"          \
    PIPES_PROTO_SERVICE_SID_W L")"

/* One line to the installer: its log, and its UI for an error. */
static void say(MSIHANDLE install, INSTALLMESSAGE kind, const wchar_t *text)
{
    MSIHANDLE record = MsiCreateRecord(1);
    if (!record)
        return;
    MsiRecordSetStringW(record, 0, text);
    MsiProcessMessage(install, kind, record);
    MsiCloseHandle(record);
}

/* The installer's log and UI, and the Application log (Event Viewer keeps
 * it after a rolled-back install). */
static UINT refuse(MSIHANDLE install, const wchar_t *dir, const wchar_t *why)
{
    wchar_t text[SAFEDIR_MAX_SID + 5 * MAX_PATH];
    const wchar_t *args[2];
    HANDLE source = RegisterEventSourceW(NULL, L"PipesService");
    swprintf(text, sizeof text / sizeof text[0],
             L"Pipes is not installed into %ls: %ls. Choose a folder that only administrators "
             L"can change (the default, Program Files\\Pipes, is one), or remove what is named.",
             dir, why);
    say(install, INSTALLMESSAGE_ERROR, text);
    if (source) {
        args[0] = dir;
        args[1] = why;
        ReportEventW(source, EVENTLOG_ERROR_TYPE, 0, MSG_INSTALL_DIR_UNSAFE, NULL, 2, 0, args,
                     NULL);
        DeregisterEventSource(source);
    }
    return ERROR_INSTALL_FAILURE;
}

/* The deferred custom action: CustomActionData is the install folder. */
__declspec(dllexport) UINT __stdcall LockInstallDir(MSIHANDLE install)
{
    wchar_t dir[MAX_PATH], text[SAFEDIR_MAX_SID + 3 * MAX_PATH];
    DWORD n = MAX_PATH;
    safedir d;
    safedir_report why;
    DWORD e;

    if (MsiGetPropertyW(install, L"CustomActionData", dir, &n) != ERROR_SUCCESS || n == 0)
        return refuse(install, L"(no folder)", L"the custom action got no CustomActionData");
    if (!safedir_open(&d, dir, INSTALL_DIR_SDDL, SAFEDIR_FOR_LOCK, &why)) {
        safedir_describe(&why, text, sizeof text / sizeof text[0]);
        return refuse(install, dir, text);
    }
    /* Locked first, so that nothing can be added while what is there is
     * checked; the files keep their own DACL (they must pass as they are). */
    e = safedir_lock(&d, INSTALL_DIR_SDDL, 0, NULL, 0);
    if (e != ERROR_SUCCESS) {
        why.problem = SAFEDIR_ERROR;
        why.error = e;
        swprintf(why.path, MAX_PATH, L"%ls", d.path);
    }
    if (e != ERROR_SUCCESS || !safedir_check_tree(&d, &why)) {
        safedir_describe(&why, text, sizeof text / sizeof text[0]);
        safedir_close(&d);
        return refuse(install, dir, text);
    }
    swprintf(text, sizeof text / sizeof text[0], L"pipes-lockdir: locked %ls", d.path);
    say(install, INSTALLMESSAGE_INFO, text);
    safedir_close(&d);
    return ERROR_SUCCESS;
}
