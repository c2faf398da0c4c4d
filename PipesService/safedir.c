/*
 * safedir.c - trusted folders and checked file handles (safedir.h).
 *
 * Why every check is made on a handle: the service works in folders that
 * exist before it starts, and an unprivileged user may have created them,
 * or made one a junction, to have the service delete, overwrite or re-ACL
 * files of his choosing. A path is therefore looked at once, opened, and
 * from then on only the handle is judged (its attributes, owner, DACL and
 * final path); deletes and renames go through such a handle.
 */
#include "safedir.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Rights on a folder the service uses that let someone change what it holds
 * or who may. */
#define WRITE_RIGHTS                                                                             \
    (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | \
     GENERIC_WRITE | GENERIC_ALL)
/* Rights on a folder above it that let someone move it (or the next folder
 * down) away and put another in its place. Creating folders beside it is
 * harmless (C:\ and C:\ProgramData let every user do that). A drive's root
 * cannot be renamed, so DELETE on it does not count. */
#define ABOVE_RIGHTS (DELETE | WRITE_DAC | WRITE_OWNER | FILE_DELETE_CHILD | GENERIC_ALL)
#define ROOT_RIGHTS (ABOVE_RIGHTS & ~(DWORD)DELETE)

/* ---- trusted accounts ------------------------------------------------------------------- */

#define TRUSTED_N 5
static BYTE g_trusted[TRUSTED_N][SECURITY_MAX_SID_SIZE];
static size_t g_trusted_n;
static INIT_ONCE g_trusted_once = INIT_ONCE_STATIC_INIT;

static void add_trusted(PSID sid)
{
    if (sid && IsValidSid(sid) && GetLengthSid(sid) <= SECURITY_MAX_SID_SIZE &&
        g_trusted_n < TRUSTED_N && CopySid(SECURITY_MAX_SID_SIZE, g_trusted[g_trusted_n], sid))
        g_trusted_n++;
}

static void add_trusted_string(const wchar_t *s)
{
    PSID sid = NULL;
    if (ConvertStringSidToSidW(s, &sid)) {
        add_trusted(sid);
        LocalFree(sid);
    }
}

static void add_trusted_known(WELL_KNOWN_SID_TYPE type)
{
    BYTE buf[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof buf;
    if (CreateWellKnownSid(type, NULL, buf, &size))
        add_trusted(buf);
}

/* This process's account: the service SID when it runs as the service. */
static int token_user(BYTE *out, size_t cap)
{
    HANDLE token;
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    int ok;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return 0;
    ok = GetTokenInformation(token, TokenUser, &info, sizeof info, &len) &&
         CopySid((DWORD)cap, out, info.user.User.Sid);
    CloseHandle(token);
    return ok;
}

static BOOL CALLBACK init_trusted(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    BYTE me[SECURITY_MAX_SID_SIZE];
    (void)once;
    (void)param;
    (void)ctx;
    add_trusted_known(WinLocalSystemSid);
    add_trusted_known(WinBuiltinAdministratorsSid);
    add_trusted_string(SAFEDIR_TRUSTED_INSTALLER_SID);
    add_trusted_string(SAFEDIR_SERVICE_SID);
    if (token_user(me, sizeof me))
        add_trusted(me);
    return TRUE;
}

int safedir_sid_trusted(PSID sid)
{
    size_t i;
    InitOnceExecuteOnce(&g_trusted_once, init_trusted, NULL, NULL);
    if (!sid || !IsValidSid(sid))
        return 0;
    for (i = 0; i < g_trusted_n; i++)
        if (EqualSid(sid, g_trusted[i]))
            return 1;
    return 0;
}

/* CREATOR OWNER / CREATOR GROUP only stand for the creator of a child, and
 * OWNER RIGHTS for the owner, which is checked on its own: an entry for one
 * of them grants nobody anything by itself. */
static int stands_for_owner_or_creator(PSID sid)
{
    return IsWellKnownSid(sid, WinCreatorOwnerSid) || IsWellKnownSid(sid, WinCreatorGroupSid) ||
           IsWellKnownSid(sid, WinCreatorOwnerRightsSid);
}

/* "S-1-..." or "S-1-... (DOMAIN\name)". */
static void sid_text(PSID sid, wchar_t *out, size_t cap)
{
    wchar_t *s = NULL, name[128], domain[128];
    DWORD nn = 128, dn = 128;
    SID_NAME_USE use;
    if (!ConvertSidToStringSidW(sid, &s)) {
        swprintf(out, cap, L"(unreadable SID)");
        return;
    }
    if (LookupAccountSidW(NULL, sid, name, &nn, domain, &dn, &use))
        swprintf(out, cap, L"%ls (%ls%ls%ls)", s, domain, domain[0] ? L"\\" : L"", name);
    else
        swprintf(out, cap, L"%ls", s);
    LocalFree(s);
}

/* ---- reports ------------------------------------------------------------------------------ */

static int report(safedir_report *r, safedir_problem p, const wchar_t *path, DWORD error)
{
    r->problem = p;
    r->error = error;
    swprintf(r->path, MAX_PATH, L"%ls", path);
    if (p != SAFEDIR_UNTRUSTED_OWNER && p != SAFEDIR_OPEN_DACL && p != SAFEDIR_MOVED)
        r->who[0] = L'\0';
    return 0;
}

void safedir_describe(const safedir_report *r, wchar_t *out, size_t cap)
{
    wchar_t text[256];
    DWORD n;
    switch (r->problem) {
    case SAFEDIR_OK: swprintf(out, cap, L"%ls is safe to use", r->path); break;
    case SAFEDIR_REPARSE_POINT:
        swprintf(out, cap, L"%ls is a junction, symbolic link or mount point", r->path);
        break;
    case SAFEDIR_MOVED:
        swprintf(out, cap, L"%ls leads to %ls (a link on the way)", r->path, r->who);
        break;
    case SAFEDIR_NOT_DIRECTORY: swprintf(out, cap, L"%ls is not a folder", r->path); break;
    case SAFEDIR_UNTRUSTED_OWNER:
        swprintf(out, cap,
                 L"%ls is owned by %ls, not by SYSTEM, Administrators, TrustedInstaller or the "
                 L"service",
                 r->path, r->who);
        break;
    case SAFEDIR_OPEN_DACL:
        swprintf(out, cap,
                 L"the permissions of %ls let %ls change, move or delete it or what it holds",
                 r->path, r->who);
        break;
    case SAFEDIR_ERROR:
        if (r->error == ERROR_TOO_MANY_LINKS) {
            swprintf(out, cap, L"%ls has more than one name (a hard link)", r->path);
            break;
        }
        /* fall through */
    default:
        n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                           r->error, 0, text, 256, NULL);
        while (n > 0 && (text[n - 1] == L'\n' || text[n - 1] == L'\r' || text[n - 1] == L'.'))
            text[--n] = L'\0';
        swprintf(out, cap, L"%ls: %ls (error %lu)", r->path, n ? text : L"failed",
                 (unsigned long)r->error);
        break;
    }
}

/* ---- descriptors -------------------------------------------------------------------------- */

/* An absolute descriptor from sddl whose owner, when sddl names none, is
 * this process's account (the owner is never left to the token's default:
 * the service checks owners). *rel and owner back it: free *rel with
 * LocalFree after use. */
static DWORD make_sd(const wchar_t *sddl, SECURITY_DESCRIPTOR *abs, PSECURITY_DESCRIPTOR *rel,
                     BYTE *owner)
{
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    PSID sd_owner = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;

    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, rel, NULL))
        return GetLastError();
    if (!GetSecurityDescriptorDacl(*rel, &present, &dacl, &defaulted) || !present || !dacl ||
        !GetSecurityDescriptorOwner(*rel, &sd_owner, &defaulted) ||
        !GetSecurityDescriptorControl(*rel, &control, &revision) ||
        !InitializeSecurityDescriptor(abs, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(abs, TRUE, dacl, FALSE) ||
        !SetSecurityDescriptorControl(abs, SE_DACL_PROTECTED, control & SE_DACL_PROTECTED)) {
        LocalFree(*rel);
        *rel = NULL;
        return ERROR_INVALID_SECURITY_DESCR;
    }
    if (!sd_owner) {
        if (!token_user(owner, SECURITY_MAX_SID_SIZE)) {
            LocalFree(*rel);
            *rel = NULL;
            return GetLastError();
        }
        sd_owner = owner;
    }
    SetSecurityDescriptorOwner(abs, sd_owner, FALSE);
    return ERROR_SUCCESS;
}

static DWORD create_dir(const wchar_t *path, const wchar_t *sddl)
{
    SECURITY_ATTRIBUTES sa;
    SECURITY_DESCRIPTOR abs;
    PSECURITY_DESCRIPTOR rel = NULL;
    BYTE owner[SECURITY_MAX_SID_SIZE];
    DWORD rc = ERROR_SUCCESS;

    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = FALSE;
    if (sddl) {
        rc = make_sd(sddl, &abs, &rel, owner);
        if (rc != ERROR_SUCCESS)
            return rc;
        sa.lpSecurityDescriptor = &abs;
    }
    if (!CreateDirectoryW(path, &sa))
        rc = GetLastError();
    LocalFree(rel);
    return rc;
}

/* Whom the DACL grants any of rights (the first such account), or 0 when
 * nobody untrusted. Inherit-only entries count when with_inherit_only: on
 * the folders the service uses they are what its files get. */
static int open_dacl(PACL dacl, ACCESS_MASK rights, int with_inherit_only, wchar_t *who,
                     size_t cap)
{
    DWORD i;
    if (!dacl) {
        swprintf(who, cap, L"everyone (no DACL)");
        return 1;
    }
    for (i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *h = NULL;
        ACCESS_MASK mask;
        PSID sid;
        if (!GetAce(dacl, i, (void **)&h))
            continue;
        if (h->AceType == ACCESS_DENIED_ACE_TYPE || h->AceType == ACCESS_DENIED_CALLBACK_ACE_TYPE ||
            h->AceType == ACCESS_DENIED_OBJECT_ACE_TYPE ||
            h->AceType == ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE)
            continue;
        mask = ((ACCESS_ALLOWED_ACE *)h)->Mask; /* same place in every allow type */
        if (!(mask & rights) || (!with_inherit_only && (h->AceFlags & INHERIT_ONLY_ACE)))
            continue;
        if (h->AceType != ACCESS_ALLOWED_ACE_TYPE && h->AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE) {
            swprintf(who, cap, L"an entry of type %u", (unsigned)h->AceType);
            return 1;
        }
        sid = (PSID)&((ACCESS_ALLOWED_ACE *)h)->SidStart;
        if (!safedir_sid_trusted(sid) && !stands_for_owner_or_creator(sid)) {
            sid_text(sid, who, cap);
            return 1;
        }
    }
    return 0;
}

/* ---- folders ------------------------------------------------------------------------------ */

/* The final path of h without the \\?\ prefix, into out (MAX_PATH). */
static int final_path(HANDLE h, wchar_t *out)
{
    wchar_t buf[MAX_PATH + 8];
    DWORD n = GetFinalPathNameByHandleW(h, buf, MAX_PATH + 8, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    const wchar_t *p = buf;
    if (n == 0 || n >= MAX_PATH + 8)
        return 0;
    if (!wcsncmp(p, L"\\\\?\\", 4))
        p += 4;
    if (wcslen(p) >= MAX_PATH)
        return 0;
    wcscpy(out, p);
    return 1;
}

static int same_path(const wchar_t *a, const wchar_t *b)
{
    return CompareStringOrdinal(a, -1, b, -1, TRUE) == CSTR_EQUAL;
}

/* Owner and DACL of the open folder h (path, for the report): the owner is
 * trusted and the DACL grants nobody else rights. */
static int check_security(HANDLE h, const wchar_t *path, ACCESS_MASK rights,
                          int with_inherit_only, safedir_report *why)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    PACL dacl = NULL;
    int ok = 1;
    DWORD rc = GetSecurityInfo(h, SE_FILE_OBJECT,
                               OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                               NULL, &dacl, NULL, &sd);
    if (rc != ERROR_SUCCESS)
        return report(why, SAFEDIR_ERROR, path, rc);
    if (!safedir_sid_trusted(owner)) {
        sid_text(owner, why->who, sizeof why->who / sizeof why->who[0]);
        ok = report(why, SAFEDIR_UNTRUSTED_OWNER, path, 0);
    } else if (rights &&
               open_dacl(dacl, rights, with_inherit_only, why->who,
                         sizeof why->who / sizeof why->who[0])) {
        ok = report(why, SAFEDIR_OPEN_DACL, path, 0);
    }
    LocalFree(sd);
    return ok;
}

/* A folder above the one opened: owned by a trusted account, and nobody
 * else may move it or what it holds (ABOVE_RIGHTS). */
static int check_above(const wchar_t *path, int root, safedir_report *why)
{
    BY_HANDLE_FILE_INFORMATION bi;
    int ok;
    HANDLE h = CreateFileW(path, READ_CONTROL | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                           NULL);
    if (h == INVALID_HANDLE_VALUE)
        return report(why, SAFEDIR_ERROR, path, GetLastError());
    if (!GetFileInformationByHandle(h, &bi))
        ok = report(why, SAFEDIR_ERROR, path, GetLastError());
    else if (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        ok = report(why, SAFEDIR_REPARSE_POINT, path, 0);
    else
        ok = check_security(h, path, root ? ROOT_RIGHTS : ABOVE_RIGHTS, 0, why);
    CloseHandle(h);
    return ok;
}

/* Every folder of path from the drive down: a reparse point stops the walk;
 * the folders above the last must be safe from being moved (check_above);
 * a missing one is created with sddl (and checked like the others). */
static int walk(const wchar_t *path, const wchar_t *sddl, safedir_report *why)
{
    wchar_t buf[MAX_PATH];
    size_t i, len = wcslen(path);
    wcscpy(buf, path);
    buf[3] = L'\0';
    if (!check_above(buf, 1, why)) /* "X:\" */
        return 0;
    wcscpy(buf, path);
    for (i = 3; i <= len; i++) {
        DWORD attrs;
        wchar_t saved = buf[i];
        if (saved != L'\\' && saved != L'\0')
            continue;
        buf[i] = L'\0';
        attrs = GetFileAttributesW(buf);
        if (attrs == INVALID_FILE_ATTRIBUTES) {
            DWORD e = GetLastError();
            if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
                return report(why, SAFEDIR_ERROR, buf, e);
            e = create_dir(buf, sddl);
            if (e != ERROR_SUCCESS && e != ERROR_ALREADY_EXISTS)
                return report(why, SAFEDIR_ERROR, buf, e);
            attrs = GetFileAttributesW(buf);
            if (attrs == INVALID_FILE_ATTRIBUTES)
                return report(why, SAFEDIR_ERROR, buf, GetLastError());
        }
        if (attrs & FILE_ATTRIBUTE_REPARSE_POINT)
            return report(why, SAFEDIR_REPARSE_POINT, buf, 0);
        if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
            return report(why, SAFEDIR_NOT_DIRECTORY, buf, 0);
        if (i < len && !check_above(buf, 0, why))
            return 0;
        buf[i] = saved;
    }
    return 1;
}

/* The checks on the open folder d->h. */
static int check_dir(safedir *d, unsigned flags, safedir_report *why)
{
    BY_HANDLE_FILE_INFORMATION bi;

    if (!GetFileInformationByHandle(d->h, &bi))
        return report(why, SAFEDIR_ERROR, d->path, GetLastError());
    if (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        return report(why, SAFEDIR_REPARSE_POINT, d->path, 0);
    if (!(bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        return report(why, SAFEDIR_NOT_DIRECTORY, d->path, 0);
    if (!final_path(d->h, d->final_path))
        return report(why, SAFEDIR_ERROR, d->path, GetLastError());
    if (!same_path(d->final_path, d->path)) {
        swprintf(why->who, sizeof why->who / sizeof why->who[0], L"%ls", d->final_path);
        return report(why, SAFEDIR_MOVED, d->path, 0);
    }
    /* Under SAFEDIR_FOR_LOCK the DACL is about to be replaced. */
    return check_security(d->h, d->path, (flags & SAFEDIR_FOR_LOCK) ? 0 : WRITE_RIGHTS, 1, why);
}

int safedir_open(safedir *d, const wchar_t *path, const wchar_t *create_sddl, unsigned flags,
                 safedir_report *why)
{
    DWORD n, access = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;

    memset(why, 0, sizeof *why);
    d->h = INVALID_HANDLE_VALUE;
    d->final_path[0] = L'\0';
    n = GetFullPathNameW(path, MAX_PATH, d->path, NULL);
    if (n == 0 || n >= MAX_PATH - 32)
        return report(why, SAFEDIR_ERROR, path, n ? ERROR_FILENAME_EXCED_RANGE : GetLastError());
    while (n > 3 && d->path[n - 1] == L'\\')
        d->path[--n] = L'\0';
    /* Local drive paths only: "X:\..." */
    if (n < 3 || d->path[1] != L':' || d->path[2] != L'\\')
        return report(why, SAFEDIR_ERROR, d->path, ERROR_BAD_PATHNAME);
    if (!walk(d->path, create_sddl, why))
        return 0;
    if (flags & SAFEDIR_FOR_LOCK)
        access |= WRITE_DAC | WRITE_OWNER;
    /* No FILE_SHARE_DELETE: while open, nobody can rename or delete it. */
    d->h = CreateFileW(d->path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (d->h == INVALID_HANDLE_VALUE)
        return report(why, SAFEDIR_ERROR, d->path, GetLastError());
    if (!check_dir(d, flags, why)) {
        safedir_close(d);
        return 0;
    }
    return 1;
}

void safedir_close(safedir *d)
{
    if (d && d->h != INVALID_HANDLE_VALUE && d->h != NULL) {
        CloseHandle(d->h);
        d->h = INVALID_HANDLE_VALUE;
    }
}

/* ---- files -------------------------------------------------------------------------------- */

/* Checks an open handle of d's file name: see safedir.h. */
static int check_file(const safedir *d, const wchar_t *name, HANDLE h, int allow_links)
{
    BY_HANDLE_FILE_INFORMATION bi;
    wchar_t expected[MAX_PATH + 64], got[MAX_PATH];
    if (!GetFileInformationByHandle(h, &bi))
        return 0;
    if (bi.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) {
        SetLastError(ERROR_REPARSE_POINT_ENCOUNTERED);
        return 0;
    }
    if (bi.nNumberOfLinks != 1 && !allow_links) {
        SetLastError(ERROR_TOO_MANY_LINKS);
        return 0;
    }
    swprintf(expected, MAX_PATH + 64, L"%ls\\%ls", d->final_path, name);
    if (!final_path(h, got) || !same_path(expected, got)) {
        SetLastError(ERROR_REPARSE_POINT_ENCOUNTERED);
        return 0;
    }
    return 1;
}

static HANDLE open_checked(const safedir *d, const wchar_t *name, DWORD access, DWORD share,
                           DWORD disposition, int allow_links)
{
    wchar_t path[MAX_PATH + 64];
    HANDLE h;
    int created;
    if (wcschr(name, L'\\') || wcschr(name, L'/') || wcschr(name, L':')) {
        SetLastError(ERROR_BAD_PATHNAME);
        return INVALID_HANDLE_VALUE;
    }
    swprintf(path, MAX_PATH + 64, L"%ls\\%ls", d->path, name);
    h = CreateFileW(path, access, share, NULL, disposition,
                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return h;
    created = disposition == CREATE_NEW ||
              (disposition == OPEN_ALWAYS && GetLastError() != ERROR_ALREADY_EXISTS);
    if (!check_file(d, name, h, allow_links)) {
        DWORD e = GetLastError();
        if (created && (access & DELETE))
            safedir_delete_open(h);
        CloseHandle(h);
        SetLastError(e);
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

HANDLE safedir_open_file(const safedir *d, const wchar_t *name, DWORD access, DWORD share,
                         DWORD disposition)
{
    if (disposition != OPEN_EXISTING && disposition != OPEN_ALWAYS && disposition != CREATE_NEW) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    /* DELETE, so that a file this open created can be removed again if it
     * fails its check. */
    if (disposition != OPEN_EXISTING)
        access |= DELETE;
    return open_checked(d, name, access, share, disposition, 0);
}

int safedir_delete_open(HANDLE h)
{
    FILE_DISPOSITION_INFO info;
    info.DeleteFile = TRUE;
    return SetFileInformationByHandle(h, FileDispositionInfo, &info, sizeof info);
}

int safedir_rename_open(HANDLE h, const safedir *to, const wchar_t *to_name)
{
    wchar_t target[MAX_PATH + 64], got[MAX_PATH];
    size_t len, size;
    FILE_RENAME_INFO *info;
    int ok;
    if (!to_name[0] || wcschr(to_name, L'\\') || wcschr(to_name, L'/') || wcschr(to_name, L':') ||
        swprintf(target, MAX_PATH + 64, L"%ls\\%ls", to->path, to_name) < 0) {
        SetLastError(ERROR_BAD_PATHNAME);
        return 0;
    }
    len = wcslen(target);
    size = offsetof(FILE_RENAME_INFO, FileName) + (len + 1) * sizeof(wchar_t);
    info = (FILE_RENAME_INFO *)calloc(1, size);
    if (!info) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    /* The documented form (FILE_RENAME_INFO: RootDirectory NULL, an absolute
     * FileName). The path is that of an open, checked folder, which nobody
     * else can move (safedir_open); where the file landed is checked. */
    info->ReplaceIfExists = TRUE;
    info->RootDirectory = NULL;
    info->FileNameLength = (DWORD)(len * sizeof(wchar_t));
    memcpy(info->FileName, target, (len + 1) * sizeof(wchar_t));
    ok = SetFileInformationByHandle(h, FileRenameInfo, info, (DWORD)size);
    free(info);
    swprintf(target, MAX_PATH + 64, L"%ls\\%ls", to->final_path, to_name);
    if (ok && (!final_path(h, got) || !same_path(target, got))) {
        SetLastError(ERROR_REPARSE_POINT_ENCOUNTERED);
        ok = 0;
    }
    return ok;
}

int safedir_delete(const safedir *d, const wchar_t *name)
{
    /* A hard link may go: deleting it only removes this folder's name. */
    HANDLE h = open_checked(d, name, DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_EXISTING,
                            1);
    int ok;
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ok = safedir_delete_open(h);
    CloseHandle(h);
    return ok;
}

int safedir_rename(const safedir *from, const wchar_t *name, const safedir *to,
                   const wchar_t *to_name)
{
    HANDLE h = open_checked(from, name, DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_EXISTING,
                            0);
    int ok;
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ok = safedir_rename_open(h, to, to_name);
    CloseHandle(h);
    return ok;
}

/* ---- locking (installer verbs) ------------------------------------------------------------ */

DWORD safedir_lock(const safedir *d, const wchar_t *sddl, int with_files, wchar_t *name,
                   size_t name_cap)
{
    SECURITY_DESCRIPTOR abs;
    PSECURITY_DESCRIPTOR rel = NULL;
    BYTE owner_buf[SECURITY_MAX_SID_SIZE];
    PSID owner = NULL;
    PACL dacl = NULL, file_dacl = NULL;
    BOOL present, defaulted;
    WIN32_FIND_DATAW fd;
    wchar_t pattern[MAX_PATH + 8];
    HANDLE find;
    DWORD rc, i;

    if (name_cap)
        name[0] = L'\0';
    rc = make_sd(sddl, &abs, &rel, owner_buf);
    if (rc != ERROR_SUCCESS)
        return rc;
    GetSecurityDescriptorOwner(&abs, &owner, &defaulted);
    GetSecurityDescriptorDacl(&abs, &present, &dacl, &defaulted);
    rc = SetSecurityInfo(d->h, SE_FILE_OBJECT,
                         OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                             PROTECTED_DACL_SECURITY_INFORMATION,
                         owner, NULL, dacl, NULL);
    /* The files: the same entries, explicit (no inheritance flags). */
    file_dacl = rc == ERROR_SUCCESS ? (PACL)malloc(dacl->AclSize) : NULL;
    if (rc == ERROR_SUCCESS && (!file_dacl || !InitializeAcl(file_dacl, dacl->AclSize, ACL_REVISION)))
        rc = ERROR_NOT_ENOUGH_MEMORY;
    for (i = 0; rc == ERROR_SUCCESS && i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        if (GetAce(dacl, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
            !(ace->Header.AceFlags & INHERIT_ONLY_ACE) &&
            !AddAccessAllowedAce(file_dacl, ACL_REVISION, ace->Mask, (PSID)&ace->SidStart))
            rc = GetLastError();
    }
    swprintf(pattern, MAX_PATH + 8, L"%ls\\*", d->path);
    find = rc == ERROR_SUCCESS && with_files ? FindFirstFileW(pattern, &fd) : INVALID_HANDLE_VALUE;
    if (find != INVALID_HANDLE_VALUE) {
        do {
            HANDLE h;
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY &&
                !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
                continue; /* "." "..", and subfolders: opened and locked on their own */
            h = open_checked(d, fd.cFileName, READ_CONTROL | WRITE_DAC | WRITE_OWNER |
                                                  FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                             FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             OPEN_EXISTING, 0);
            rc = h == INVALID_HANDLE_VALUE
                     ? GetLastError()
                     : SetSecurityInfo(h, SE_FILE_OBJECT,
                                       OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                           PROTECTED_DACL_SECURITY_INFORMATION,
                                       owner, NULL, file_dacl, NULL);
            if (h != INVALID_HANDLE_VALUE)
                CloseHandle(h);
            if (rc != ERROR_SUCCESS && name_cap)
                swprintf(name, name_cap, L"%ls", fd.cFileName);
        } while (rc == ERROR_SUCCESS && FindNextFileW(find, &fd));
        FindClose(find);
    }
    free(file_dacl);
    LocalFree(rel);
    return rc;
}

/* ---- checking what a folder holds (installer) -------------------------------------------- */

int safedir_check_tree(const safedir *d, safedir_report *why)
{
    WIN32_FIND_DATAW fd;
    wchar_t pattern[MAX_PATH + 8], path[MAX_PATH + 64];
    HANDLE find;
    int ok = 1;

    memset(why, 0, sizeof *why);
    swprintf(pattern, MAX_PATH + 8, L"%ls\\*", d->path);
    find = FindFirstFileW(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 1 : report(why, SAFEDIR_ERROR, d->path,
                                                                     GetLastError());
    do {
        if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L".."))
            continue;
        swprintf(path, MAX_PATH + 64, L"%ls\\%ls", d->path, fd.cFileName);
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
            ok = report(why, SAFEDIR_REPARSE_POINT, path, 0);
        } else if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
            safedir sub;
            ok = safedir_open(&sub, path, NULL, 0, why) && safedir_check_tree(&sub, why);
            safedir_close(&sub);
        } else {
            HANDLE h = open_checked(d, fd.cFileName, READ_CONTROL | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                    OPEN_EXISTING, 0);
            if (h == INVALID_HANDLE_VALUE) {
                DWORD e = GetLastError();
                ok = report(why, e == ERROR_REPARSE_POINT_ENCOUNTERED ? SAFEDIR_REPARSE_POINT
                                                                      : SAFEDIR_ERROR,
                            path, e);
            } else {
                ok = check_security(h, path, WRITE_RIGHTS, 1, why);
                CloseHandle(h);
            }
        }
    } while (ok && FindNextFileW(find, &fd));
    FindClose(find);
    return ok;
}
