// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder until the compiler lands. */
#include "cmds.h"
#include "util.h"

int cmd_check(int argc, char **argv)
{
	p_err("check: not built yet");
	return XS_EXIT_FAIL;
}

int cmd_compile(int argc, char **argv)
{
	p_err("compile: not built yet");
	return XS_EXIT_FAIL;
}
