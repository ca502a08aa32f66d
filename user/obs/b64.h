/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Base64 (RFC 4648, the standard alphabet, padded): how an event's packet
 * bytes travel in JSON ("snap"), so that a pcap writer (pcap.h) fed from the
 * agent's socket gets the bytes the kernel sent.
 */
#ifndef XS_OBS_B64_H
#define XS_OBS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters xs_b64_encode() writes for `n` bytes, the NUL not counted. */
#define XS_B64_LEN(n) (((n) + 2) / 3 * 4)

/* Encode `n` bytes into `out` (at least XS_B64_LEN(n) + 1 bytes), NUL-terminated. */
void xs_b64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode the NUL-terminated `in` into `out` (room for `size` bytes).
 * Returns the bytes decoded, or -EINVAL for anything but padded base64
 * (a length not a multiple of 4, a character outside the alphabet, padding
 * anywhere but at the end, non-zero bits under the padding) and -ENOSPC
 * when `out` is too small; `out` is then unspecified.
 */
int xs_b64_decode(const char *in, uint8_t *out, size_t size);

#endif /* XS_OBS_B64_H */
