// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder until the compiler lands. */
#include "policy.h"
