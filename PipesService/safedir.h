/*
 * safedir.h - folders the service (and its installer verbs) can trust, and
 * files in them opened without following anything an unprivileged user could
 * have planted (docs/SECURITY.md, "Data folders and privileges").
 *
 * A folder is trusted when, opened, it is where its path says (no component
 * of the path is a junction, symbolic link or mount point, and the handle's
 * final path is that path), its owner is trusted and its DACL lets nobody
 * else write, delete or change permissions; and every folder above it is
 * owned by a trusted account and lets nobody else rename, delete or re-ACL
 * it or delete what it holds, so that nobody can put another folder in its
 * place while it is in use. Trusted = LocalSystem, Administrators,
 * TrustedInstaller, the service's SID (NT SERVICE\PipesService) and the
 * account this process runs as.
 *
 * Files are opened by name in such a folder and checked after the open,
 * before anything is read or written: a regular file, not a reparse point,
 * one link only, and its final path is <folder>\<name>. Deletes and renames
 * act on a checked handle (FileDispositionInfo, FileRenameInfo).
 *
 * Only kernel32 and advapi32: no other part of the service is needed.
 */
#ifndef PIPES_SAFEDIR_H
#define PIPES_SAFEDIR_H

#include <windows.h>

#include <stddef.h>

#include "pipes_protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NT SERVICE\PipesService (checked against its definition by a unit test). */
#define SAFEDIR_SERVICE_SID PIPES_PROTO_SERVICE_SID_W
#define SAFEDIR_TRUSTED_INSTALLER_SID                                                            \
    L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

#define SAFEDIR_MAX_SID 192 /* a SID string and its NUL */

/* winerror.h of the Windows SDK has it; MinGW-w64's does not. */
#ifndef ERROR_REPARSE_POINT_ENCOUNTERED
#define ERROR_REPARSE_POINT_ENCOUNTERED 4395L
#endif

typedef enum safedir_problem {
    SAFEDIR_OK = 0,
    SAFEDIR_ERROR,          /* a Win32 call failed: error */
    SAFEDIR_REPARSE_POINT,  /* path (the folder or one above it) is a junction, link or mount point */
    SAFEDIR_MOVED,          /* the handle's final path (who) is not path */
    SAFEDIR_NOT_DIRECTORY,  /* path is a file */
    SAFEDIR_UNTRUSTED_OWNER, /* owned by who */
    SAFEDIR_OPEN_DACL       /* the DACL lets who write, delete or change permissions */
} safedir_problem;

typedef struct safedir_report {
    safedir_problem problem;
    DWORD error;                  /* SAFEDIR_ERROR */
    wchar_t path[MAX_PATH];       /* the folder at fault */
    wchar_t who[SAFEDIR_MAX_SID + MAX_PATH]; /* a SID (as a name too when known) or a path */
} safedir_report;

/* The report in words, for the Event Log and the console. */
void safedir_describe(const safedir_report *r, wchar_t *out, size_t cap);

/* An open, checked folder. h is opened without FILE_SHARE_DELETE, so the
 * folder cannot be renamed or deleted while it is open. Owned by whoever
 * opened it; safedir_close once. */
typedef struct safedir {
    HANDLE h;
    wchar_t path[MAX_PATH];       /* as given (full path); files are opened as path\name */
    wchar_t final_path[MAX_PATH]; /* the handle's, without \\?\ */
} safedir;

/* Flags of safedir_open. */
enum {
    /* Also open for WRITE_DAC | WRITE_OWNER and do not judge the DACL:
     * safedir_lock replaces it next (the verbs, as administrator). */
    SAFEDIR_FOR_LOCK = 1
};

/* Opens path as a trusted folder. Missing folders on the path are created,
 * each with create_sddl (its owner, when the SDDL names none, is this
 * process's account): a folder is never created with another descriptor and
 * fixed afterwards. create_sddl NULL: the defaults (tests only). An existing
 * folder is never changed. Returns nonzero when d is open; else why says
 * what is wrong (the first problem found) and nothing was changed except
 * folders created. */
int safedir_open(safedir *d, const wchar_t *path, const wchar_t *create_sddl, unsigned flags,
                 safedir_report *why);
void safedir_close(safedir *d);

/* Replaces the owner and protected DACL of d (opened SAFEDIR_FOR_LOCK) with
 * those of sddl and, with_files, gives every file directly in d the same
 * DACL without the inheritance flags (the installer's upgrade of data an
 * older version wrote; each file checked as by safedir_open_file, links
 * refused). Returns a Win32 error; name gets the file it stopped at, if any. */
DWORD safedir_lock(const safedir *d, const wchar_t *sddl, int with_files, wchar_t *name,
                   size_t name_cap);
/* Everything below d, checked without changing anything: every folder as by
 * safedir_open, every file a plain one (not a link, one name) owned by a
 * trusted account whose DACL lets nobody else write, delete or re-ACL it.
 * Returns nonzero when all pass; else why names the first that does not.
 * (What the installer checks in its install folder before any of its
 * programs run from there.) */
int safedir_check_tree(const safedir *d, safedir_report *why);

/* Opens the file name (no separators) of d: disposition OPEN_EXISTING,
 * OPEN_ALWAYS or CREATE_NEW (never one that truncates before the check).
 * Returns INVALID_HANDLE_VALUE with GetLastError() when the open fails or
 * the check does (ERROR_REPARSE_POINT_ENCOUNTERED: not a plain file of d;
 * ERROR_TOO_MANY_LINKS: it has hard links); a file CREATE_NEW made is then
 * deleted again. */
HANDLE safedir_open_file(const safedir *d, const wchar_t *name, DWORD access, DWORD share,
                         DWORD disposition);
/* Deletes the file of an open handle (opened with DELETE), or renames it to
 * to_name in the folder to, replacing a file of that name (FileRenameInfo
 * with to's path, which nobody else can change while to is open; where the
 * file landed is checked). Nonzero when done. */
int safedir_delete_open(HANDLE h);
int safedir_rename_open(HANDLE h, const safedir *to, const wchar_t *to_name);
/* Deletes the file name of d through a checked handle (a hard link may go:
 * that only removes this folder's name). Nonzero when done. */
int safedir_delete(const safedir *d, const wchar_t *name);
/* Renames the file name of from (checked) to to_name in to (the same
 * folder or another open safedir). Nonzero when done. */
int safedir_rename(const safedir *from, const wchar_t *name, const safedir *to,
                   const wchar_t *to_name);

/* Nonzero when sid is one of the trusted accounts above. */
int safedir_sid_trusted(PSID sid);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_SAFEDIR_H */
