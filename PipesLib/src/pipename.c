/*
 * pipename.c - pipe name validation.
 */
#include "pipename.h"

#include <windows.h>

#include "pipes.h"

int pipes_pipe_name_valid(const wchar_t *name)
{
    static const wchar_t prefix[] = L"\\\\.\\pipe\\";
    const size_t prefix_len = sizeof prefix / sizeof prefix[0] - 1;
    size_t len, i;

    if (!name)
        return 0;
    len = wcslen(name);
    if (len <= prefix_len || len > PIPES_MAX_PIPE_NAME)
        return 0;
    if (_wcsnicmp(name, prefix, prefix_len) != 0)
        return 0;
    for (i = prefix_len; i < len; i++) {
        if (name[i] == L'\\' || name[i] < 0x20)
            return 0;
    }
    return 1;
}
