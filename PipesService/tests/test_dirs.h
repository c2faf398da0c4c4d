// test_dirs.h - temporary directories for the service's unit tests: a new one per call, removed
// with everything in it.
#ifndef PIPES_SVC_TEST_DIRS_H
#define PIPES_SVC_TEST_DIRS_H

#include <windows.h>

#include <cwchar>
#include <string>

// %TEMP%\<what>-<pid>-<n>, not created.
inline std::wstring make_temp_dir(const wchar_t *what)
{
    static int counter = 0;
    wchar_t base[MAX_PATH], dir[MAX_PATH];
    GetTempPathW(MAX_PATH, base);
    swprintf(dir, MAX_PATH, L"%ls%ls-%lu-%d", base, what, (unsigned long)GetCurrentProcessId(),
             ++counter);
    return dir;
}

inline void remove_tree(const std::wstring &dir)
{
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW((dir + L"\\*").c_str(), &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            std::wstring name = fd.cFileName;
            if (name == L"." || name == L"..")
                continue;
            std::wstring path = dir + L"\\" + name;
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                remove_tree(path);
            else
                DeleteFileW(path.c_str());
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryW(dir.c_str());
}

#endif
