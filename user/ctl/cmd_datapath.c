// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder until the datapath CLI lands. */
#include "cmds.h"
#include "util.h"

#define STUB(name)                              \
	int cmd_##name(int argc, char **argv)   \
	{                                       \
		p_err(#name ": not built yet"); \
		return XS_EXIT_FAIL;            \
	}
STUB(apply)
