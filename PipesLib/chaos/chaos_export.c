/*
 * chaos_export.c - the chaos variant of pipes.dll exports the setter of its
 * test hook (pipes_chaos.h), beside the functions of pipes.def. Only the
 * chaos variant compiles this file: the product exports exactly pipes.h.
 */
#include "pipes_chaos.h"

__declspec(dllexport) void pipes_chaos_set_hook(pipes_chaos_hook_fn hook);

void pipes_chaos_set_hook(pipes_chaos_hook_fn hook)
{
    pipes_chaos_set_hook_local(hook);
}
