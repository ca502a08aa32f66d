// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Dates, addresses, specs and untrusted strings as suggest and replay write them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "text.h"

void learn_date(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d", &tm))
		snprintf(buf, size, "-");
}

void learn_addr(char *buf, size_t size, uint8_t family, const uint8_t *addr)
{
	char s[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, s, sizeof(s));
	snprintf(buf, size, "%s", s);
}

void learn_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr, unsigned int len)
{
	char s[INET6_ADDRSTRLEN];

	learn_addr(s, sizeof(s), family, addr);
	if (len == (family == 6 ? 128u : 32u))
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "%s/%u", s, len);
}

void learn_spec_text(char *buf, size_t size, const struct xs_portspec *p)
{
	const char *n = xs_proto_name(p->proto);
	unsigned int all = p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6 ? 255 : 65535;

	if (!p->proto || !n)
		snprintf(buf, size, "%s", "");
	else if (p->lo == 0 && p->hi >= all)
		snprintf(buf, size, "%s", n);
	else if (p->lo == p->hi)
		snprintf(buf, size, "%s/%u", n, p->lo);
	else
		snprintf(buf, size, "%s/%u-%u", n, p->lo, p->hi);
}

void learn_print_safe(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, out);
		else
			fprintf(out, "\\x%02x", *p);
}
