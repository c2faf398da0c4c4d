/*
 * pipename.h - validation of pipe names given to the API.
 */
#ifndef PIPES_PIPENAME_H
#define PIPES_PIPENAME_H

#include <wchar.h>

/* Nonzero if name is \\.\pipe\<name>: prefix case-insensitive, <name>
 * non-empty with no backslash or control character, whole at most
 * PIPES_MAX_PIPE_NAME characters (the Windows limit). */
int pipes_pipe_name_valid(const wchar_t *name);

#endif /* PIPES_PIPENAME_H */
