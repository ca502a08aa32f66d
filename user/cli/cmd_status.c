// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg status / stats: read-only views of the pinned state. */
#include <errno.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cmds.h"
#include "ctl/confirm.h"
#include "ctl/flows.h"
#include "ctl/hooks.h"
#include "json.h"
#include "ctl/loader.h"
#include "ctl/operate.h"
#include "ctl/overlay.h"
#include "ctl/readback.h"
#include "ctl/show.h"
#include "status_agent.h"
#include "util.h"

int xs_cli_open_readonly(struct xs_ctl *ctl)
{
	xs_libbpf_log_setup();
	xs_ctl_init(ctl);
	if (xs_ctl_check_env(ctl->dir))
		return -EPERM;
	return xs_ctl_open(ctl);
}

static const char *ingress_name(const struct xs_iface *e)
{
	if (e->tc_ingress)
		return "tc";
	return e->xdp_mode == XS_XDP_GENERIC ? "xdp-generic" : "xdp-native";
}

/* xdpseg hooks that no live record asks for, on one interface. */
struct stray {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	unsigned int hooks; /* XS_HK_* */
};

/*
 * Every xdpseg hook of this network namespace that no record accounts for
 * (an interrupted run, a record dropped by hand, a renamed interface):
 * status lists them, `detach --all` removes them.
 */
static int find_strays(const struct xs_iface *v, const struct xs_iface_live *live, size_t n,
		       struct stray **out, size_t *nout)
{
	struct if_nameindex *ifs = if_nameindex();
	struct stray *s = NULL;
	size_t cnt = 0;

	*out = NULL;
	*nout = 0;
	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		unsigned int want = 0;
		struct xs_hooks h;

		xs_hooks_query(i->if_index, &h);
		for (size_t k = 0; k < n; k++) {
			if (v[k].ifindex == i->if_index && live[k].ifindex == i->if_index)
				want |= live[k].want;
		}
		if (!(h.ours & ~want))
			continue;
		if (!(cnt & (cnt - 1))) { /* 0, 1, 2, 4, ...: grow */
			struct stray *ns = realloc(s, (cnt ? cnt * 2 : 1) * sizeof(*s));

			if (!ns) {
				free(s);
				if_freenameindex(ifs);
				return -ENOMEM;
			}
			s = ns;
		}
		snprintf(s[cnt].name, sizeof(s[cnt].name), "%s", i->if_name);
		s[cnt].ifindex = i->if_index;
		s[cnt].hooks = h.ours & ~want;
		cnt++;
	}
	if_freenameindex(ifs);
	*out = s;
	*nout = cnt;
	return 0;
}

/* The strays of an unloaded host as "NAME (HOOKS), ..." ("" when none). */
static void strays_text(const struct stray *s, size_t n, char *list, size_t size)
{
	char what[64];
	size_t o = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++) {
		xs_hooks_names(s[i].hooks, what, sizeof(what));
		o += (size_t)snprintf(list + o, size - o, "%s%s (%s)", i ? ", " : "", s[i].name,
				      what);
	}
}

static void strays_json(const struct stray *strays, size_t n)
{
	char what[64];

	printf("[");
	for (size_t i = 0; i < n; i++) {
		printf("%s{\"name\":", i ? "," : "");
		json_print_str(stdout, strays[i].name);
		printf(",\"ifindex\":%u,\"hooks\":[", strays[i].ifindex);
		for (unsigned int b = 0, k = 0; b < XS_HK__COUNT; b++) {
			if (!(strays[i].hooks & (1U << b)))
				continue;
			xs_hooks_names(1U << b, what, sizeof(what));
			printf("%s\"%s\"", k++ ? "," : "", what);
		}
		printf("]}");
	}
	printf("]");
}

/* Nothing loaded (and no agent), but hooks may be left: say so, with the fix. */
static void status_not_loaded(const char *dir)
{
	struct stray *s = NULL;
	char list[512];
	size_t n = 0;

	if (find_strays(NULL, NULL, 0, &s, &n) || !n) {
		p_err("xdpseg is not loaded (nothing pinned under %s): run 'xdpseg attach IFACE' "
		      "first",
		      dir);
		free(s);
		return;
	}
	strays_text(s, n, list, sizeof(list));
	p_err("xdpseg is not loaded (nothing pinned under %s), but xdpseg hooks are still "
	      "attached: %s: remove them with 'xdpseg detach --all'",
	      dir, list);
	free(s);
}

/* The per-interface verdict and what to do about it, for the text output. */
static void live_text(const struct xs_iface *e, const struct xs_iface_live *l, char *buf,
		      size_t size)
{
	char problems[160];

	xs_live_problems(l, problems, sizeof(problems));
	switch (l->state) {
	case XS_LIVE_PROTECTED:
		snprintf(buf, size, "protected");
		break;
	case XS_LIVE_UNPROTECTED:
	case XS_LIVE_PARTIAL:
		snprintf(buf, size, "%s (%s): 'xdpseg attach %s' repairs it",
			 xs_live_name(l->state), problems, e->name);
		break;
	case XS_LIVE_ATTACHING:
		snprintf(buf, size, "attaching (incomplete%s%s): run 'xdpseg attach %s' again",
			 *problems ? ": " : "", problems, e->name);
		break;
	case XS_LIVE_REPLACED:
		snprintf(buf, size, "replaced (%s): 'xdpseg attach %s' attaches the new one",
			 problems, e->name);
		break;
	case XS_LIVE_GONE:
		snprintf(buf, size, "gone (%s): 'xdpseg detach %s' drops the record", problems,
			 e->name);
		break;
	}
}

struct recorded {
	const struct xs_iface *v;
	const struct xs_iface_live *live;
	size_t n;
};

/* A recorded interface the summary names already (not protected). */
static bool named_already(void *ctx, const char *name)
{
	const struct recorded *r = ctx;

	for (size_t i = 0; i < r->n; i++)
		if (!strncmp(r->v[i].name, name, sizeof(r->v[i].name)) &&
		    r->live[i].state != XS_LIVE_PROTECTED)
			return true;
	return false;
}

/*
 * Is this host protected? Only when a policy is applied, at least one
 * interface is recorded, every recorded interface runs every hook its
 * record asks for with the pinned programs, and an agent that answers
 * calls every interface it selects protected. Otherwise say why.
 */
static bool host_summary(const struct xs_config *cfg, const struct xs_iface *v,
			 const struct xs_iface_live *live, size_t n, const struct xs_agent_view *av,
			 char *buf, size_t size)
{
	struct recorded rec = { v, live, n };
	size_t o;
	bool ok = cfg->generation && n && !av->nbad;

	for (size_t i = 0; i < n; i++)
		ok = ok && live[i].state == XS_LIVE_PROTECTED;
	if (ok) {
		snprintf(buf, size, "protected: %zu interface%s enforce%s policy generation %u", n,
			 n == 1 ? "" : "s", n == 1 ? "s" : "", cfg->generation);
		return true;
	}
	o = (size_t)snprintf(buf, size, "not protected:");
	if (!cfg->generation)
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, " no policy applied");
	if (!n)
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s no interface attached",
				      cfg->generation ? "" : ",");
	for (size_t i = 0; i < n; i++) {
		if (live[i].state == XS_LIVE_PROTECTED)
			continue;
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s %s %s",
				      o > strlen("not protected:") ? "," : "", v[i].name,
				      xs_live_name(live[i].state));
	}
	xs_agent_view_summary(av, buf, size, &o, strlen("not protected:"), named_already, &rec);
	if (o >= size)
		snprintf(buf + size - 4, 4, "...");
	return false;
}

static void hooks_json(const struct xs_iface_live *l)
{
	static const struct {
		unsigned int bits;
		const char *key;
	} keys[] = {
		{ XS_HK_XDP_NATIVE | XS_HK_XDP_GENERIC, "xdp" },
		{ XS_HK_TC_EGRESS, "tc_egress" },
		{ XS_HK_TC_INGRESS, "tc_ingress" },
	};
	bool first = true;

	printf("{");
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!(l->want & keys[k].bits))
			continue;
		printf("%s\"%s\":%s", first ? "" : ",", keys[k].key,
		       l->bad & keys[k].bits ? "false" : "true");
		first = false;
	}
	printf("}");
}

/*
 * The segment a recorded interface is bound to in the active policy (`bind`
 * statements) into `buf`, and its bind info; false when it is not bound.
 */
static bool port_binding(const struct xs_maps *m, const struct xs_iface *e, char *buf, size_t size,
			 struct xs_bind_info *bi)
{
	struct xs_config cfg;

	if (!xs_iface_binding(m, e->ifindex, bi) || xs_config_read(m, &cfg))
		return false;
	bi->pattern[sizeof(bi->pattern) - 1] = '\0';
	xs_segment_name(m, cfg.generation & 1, bi->seg, buf, size);
	return true;
}

/* ---- quarantines and grants (the overlays in force) ---------------------- */

/* Who made an overlay: "name" or "uid N". */
static void who(uint32_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	if (pw && pw->pw_name)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %u", uid);
}

/* A quarantine's targets as "a, b" (its statement without the mode). */
static void targets_of(const char *text, char *buf, size_t size)
{
	char **t = NULL, *mode = NULL;
	size_t n = 0, o = 0;

	buf[0] = '\0';
	if (xs_overlay_quarantine_parts(text, &t, &n, &mode)) {
		snprintf(buf, size, "%s", text);
		return;
	}
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", t[i]);
	xs_overlay_strv_free(t, n);
	free(mode);
}

static void overlays_text(const struct xs_overlay_in *v, size_t n)
{
	uint64_t now = (uint64_t)time(NULL);
	char since[64], until[64], user[64], buf[XS_OVERLAY_TEXT_LEN], mode[XS_OVERLAY_TEXT_LEN],
		left[32];
	size_t nq = 0, ng = 0;

	for (size_t i = 0; i < n; i++)
		v[i].kind == XS_OVERLAY_GRANT ? ng++ : nq++;
	if (nq)
		printf("quarantines: %zu\n", nq);
	for (size_t i = 0; nq && i < n; i++) {
		if (v[i].kind != XS_OVERLAY_QUARANTINE)
			continue;
		targets_of(v[i].text, buf, sizeof(buf));
		xs_overlay_mode(v[i].text, mode, sizeof(mode));
		xs_show_time(v[i].created, since, sizeof(since));
		who(v[i].uid, user, sizeof(user));
		printf("  %-4u %s   mode: %s   since %s by %s   reason: %s\n", v[i].number, buf,
		       mode, since, user, *v[i].reason ? v[i].reason : "-");
	}
	if (ng)
		printf("grants: %zu\n", ng);
	for (size_t i = 0; ng && i < n; i++) {
		if (v[i].kind != XS_OVERLAY_GRANT)
			continue;
		xs_show_time(v[i].expires, until, sizeof(until));
		who(v[i].uid, user, sizeof(user));
		if (v[i].expires > now)
			xs_format_duration(v[i].expires - now, left, sizeof(left));
		printf("  %-4u %s   %s%s (until %s)%s   by %s   reason: %s\n", v[i].number,
		       v[i].text, v[i].expires > now ? left : "expired",
		       v[i].expires > now ? " left" : "", until,
		       v[i].flags & XS_RULEF_DRAIN ? " --drain" : "", user,
		       *v[i].reason ? v[i].reason : "-");
	}
}

static void overlays_json(const struct xs_overlay_in *v, size_t n)
{
	uint64_t now = (uint64_t)time(NULL);
	char user[64], buf[XS_OVERLAY_TEXT_LEN], mode[XS_OVERLAY_TEXT_LEN];
	bool first = true;

	printf(",\"quarantines\":[");
	for (size_t i = 0; i < n; i++) {
		if (v[i].kind != XS_OVERLAY_QUARANTINE)
			continue;
		targets_of(v[i].text, buf, sizeof(buf));
		xs_overlay_mode(v[i].text, mode, sizeof(mode));
		who(v[i].uid, user, sizeof(user));
		printf("%s{\"number\":%u,\"statement\":", first ? "" : ",", v[i].number);
		json_print_str(stdout, v[i].text);
		printf(",\"targets\":");
		json_print_str(stdout, buf);
		printf(",\"mode\":");
		json_print_str(stdout, mode);
		printf(",\"reason\":");
		json_print_str(stdout, v[i].reason);
		printf(",\"uid\":%u,\"user\":", v[i].uid);
		json_print_str(stdout, user);
		printf(",\"since\":%llu}", (unsigned long long)v[i].created);
		first = false;
	}
	printf("],\"grants\":[");
	first = true;
	for (size_t i = 0; i < n; i++) {
		if (v[i].kind != XS_OVERLAY_GRANT)
			continue;
		who(v[i].uid, user, sizeof(user));
		printf("%s{\"number\":%u,\"statement\":", first ? "" : ",", v[i].number);
		json_print_str(stdout, v[i].text);
		printf(",\"created\":%llu,\"expires\":%llu,\"left\":%llu,\"expired\":%s,"
		       "\"drain\":%s,\"reason\":",
		       (unsigned long long)v[i].created, (unsigned long long)v[i].expires,
		       (unsigned long long)(v[i].expires > now ? v[i].expires - now : 0),
		       v[i].expires > now ? "false" : "true",
		       v[i].flags & XS_RULEF_DRAIN ? "true" : "false");
		json_print_str(stdout, v[i].reason);
		printf(",\"uid\":%u,\"user\":", v[i].uid);
		json_print_str(stdout, user);
		printf("}");
		first = false;
	}
	printf("]");
}

/* ---- commit-confirm (apply --confirm) ------------------------------------- */

/*
 * A rollback the datapath did at a missed confirm deadline is made explicit
 * here (under the lock, taken only then): a new generation, a warning.
 */
static void confirm_settle(struct xs_ctl *ctl)
{
	struct xs_confirm c;

	if (xs_confirm_read(&ctl->maps, &c) || c.state != XS_CONFIRM_ROLLED_BACK)
		return;
	if (xs_ctl_lock(ctl, false))
		return;
	xs_confirm_settle(&ctl->maps, NULL, NULL);
	xs_ctl_unlock(ctl);
}

static void confirm_text(const struct xs_maps *m, const struct xs_confirm *c)
{
	char at[64], file[256], left[32];

	if (c->state == XS_CONFIRM_PENDING) {
		xs_show_time((uint64_t)c->deadline_at, at, sizeof(at));
		xs_generation_file(m, c->rollback_generation, file, sizeof(file));
		xs_format_duration(((uint64_t)c->left_ns + XS_NS_PER_SEC - 1) / XS_NS_PER_SEC, left,
				   sizeof(left));
		printf("  confirm: pending: goes back to generation %u (%s) at %s, in %s, unless "
		       "'xdpseg confirm'\n",
		       c->rollback_generation, file, at, left);
	} else if (c->undone_generation) {
		xs_show_time((uint64_t)c->undone_at, at, sizeof(at));
		xs_generation_file(m, c->undone_generation, file, sizeof(file));
		printf("  rolled back at %s (confirm missed): generation %u (%s) was not "
		       "confirmed\n",
		       at, c->undone_generation, file);
	}
}

static void confirm_json(const struct xs_maps *m, const struct xs_confirm *c)
{
	char file[256];

	printf(",\"confirm\":");
	if (c->state == XS_CONFIRM_PENDING) {
		xs_generation_file(m, c->rollback_generation, file, sizeof(file));
		printf("{\"state\":\"pending\",\"deadline\":%lld,\"left_ms\":%lld,"
		       "\"rollback_generation\":%u,\"rollback_file\":",
		       (long long)c->deadline_at, (long long)(c->left_ns / 1000000),
		       c->rollback_generation);
		json_print_str(stdout, file);
		printf("}");
	} else if (c->undone_generation) {
		xs_generation_file(m, c->undone_generation, file, sizeof(file));
		printf("{\"state\":\"rolled-back\",\"at\":%lld,\"undone_generation\":%u,"
		       "\"undone_file\":",
		       (long long)c->undone_at, c->undone_generation);
		json_print_str(stdout, file);
		printf("}");
	} else {
		printf("null");
	}
}

static const char status_help[] =
	"Usage: xdpseg status [--json]\n\n"
	"Whether this host is protected, then each attached interface checked against\n"
	"the live link (protected, partial, unprotected, attaching, replaced, gone),\n"
	"xdpseg hooks no record lists, the active policy (file, SHA-256 content hash,\n"
	"applied at), the agent (running or not, and every interface it selects that is\n"
	"not protected), conntrack entries in use, and event losses.\n\n"
	"  -j, --json   one JSON object\n"
	"  -h, --help   this help\n\n"
	"Exit status: 0 protected; 3 not protected (an interface that is not, no policy,\n"
	"no interface, an agent's interface that is not, or an agent running while\n"
	"nothing is loaded); 1 the state cannot be read (or nothing is loaded and no\n"
	"agent runs); 2 a usage error.\n";

/* The agent says its policy file no longer compiles: loudly, on stderr too. */
static void warn_file_error(const struct xs_agent_view *av)
{
	if (av->file_error)
		p_warn("the agent's policy file no longer compiles: %s; it enforces the last good "
		       "policy",
		       av->file_error);
}

/*
 * Nothing is loaded, but an agent runs: it should have loaded xdpseg (it
 * selects interfaces to protect). Not protected; say what the agent says.
 */
static int status_unloaded_agent(const char *dir, const struct xs_agent_view *av)
{
	struct stray *s = NULL;
	char summary[512], list[512];
	size_t n = 0;

	find_strays(NULL, NULL, 0, &s, &n);
	strays_text(s, n, list, sizeof(list));
	snprintf(summary, sizeof(summary),
		 "not protected: xdpseg is not loaded (nothing pinned under %s), but an agent "
		 "runs",
		 dir);
	warn_file_error(av);
	if (xs_json) {
		printf("{\"protected\":false,\"loaded\":false,\"summary\":");
		json_print_str(stdout, summary);
		printf(",\"pin_dir\":");
		json_print_str(stdout, dir);
		printf(",\"interfaces\":[],\"unrecorded\":");
		strays_json(s, n);
		printf(",\"policy\":null,\"quarantines\":[],\"grants\":[],\"agent\":");
		xs_agent_view_json(av);
		printf("}\n");
	} else {
		printf("%s\n", summary);
		if (n)
			printf("xdpseg hooks no record lists: %s (remove them with 'xdpseg detach "
			       "--all')\n",
			       list);
		xs_agent_view_text(av);
	}
	free(s);
	return XS_EXIT_UNPROTECTED;
}

int cmd_status(int argc, char **argv)
{
	struct xs_agent_view av = { 0 };
	struct xs_overlay_in *ov = NULL;
	size_t nov = 0;
	struct xs_iface_live *live = NULL;
	struct xs_policy_meta meta;
	struct xs_iface *v = NULL;
	struct stray *strays = NULL;
	struct xs_confirm cs;
	struct xs_config cfg;
	struct xs_ctl ctl;
	struct xs_counter evt = { 0 };
	struct xs_flow_stats fl = { 0 };
	size_t n = 0, nstrays = 0;
	char when[64], hash[65], summary[512], state[256], what[64], bound[160];
	struct xs_bind_info bi;
	bool is_protected;
	int ret = XS_EXIT_FAIL;

	ret = xs_cli_json_opts(argc, argv, "status", status_help);
	if (ret >= 0)
		return ret;
	ret = XS_EXIT_FAIL;
	xs_libbpf_log_setup();
	xs_ctl_init(&ctl);
	if (xs_ctl_check_env(ctl.dir))
		goto out;
	if (xs_ctl_trust(&ctl))
		goto out;
	if (!xs_ctl_loaded(&ctl)) {
		xs_agent_view_get(&av);
		if (xs_agent_view_running(&av))
			ret = status_unloaded_agent(ctl.dir, &av);
		else
			status_not_loaded(ctl.dir);
		goto out;
	}
	if (xs_ctl_open(&ctl))
		goto out;
	confirm_settle(&ctl);
	if (xs_confirm_read(&ctl.maps, &cs) || xs_config_read(&ctl.maps, &cfg) ||
	    xs_ifaces_list(&ctl.maps, &v, &n) ||
	    xs_flows_stats(&ctl.maps, xs_datapath_mono_ns(&cfg), &fl) ||
	    xs_event_totals(&ctl.maps, &evt)) {
		p_err("cannot read the pinned maps under %s", ctl.dir);
		goto out;
	}
	live = calloc(n ? n : 1, sizeof(*live));
	if (!live) {
		p_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		xs_iface_live(&ctl, &v[i], &live[i]);
	if (find_strays(v, live, n, &strays, &nstrays)) {
		p_err("cannot list the interfaces of this network namespace");
		goto out;
	}
	xs_agent_view_get(&av);
	is_protected = host_summary(&cfg, v, live, n, &av, summary, sizeof(summary));
	memset(&meta, 0, sizeof(meta));
	if (cfg.generation)
		xs_meta_get(&ctl.maps, cfg.generation & 1, &meta);
	xs_hex(meta.hash, sizeof(meta.hash), hash);
	if (xs_operate_overlays_in_force(&ctl.maps, &ov, &nov)) {
		p_err("cannot read the overlays in force under %s", ctl.dir);
		goto out;
	}
	warn_file_error(&av);

	if (xs_json) {
		printf("{\"protected\":%s,\"loaded\":true,\"summary\":",
		       is_protected ? "true" : "false");
		json_print_str(stdout, summary);
		printf(",\"pin_dir\":");
		json_print_str(stdout, ctl.dir);
		printf(",\"interfaces\":[");
		for (size_t i = 0; i < n; i++) {
			xs_live_problems(&live[i], state, sizeof(state));
			printf("%s{\"name\":", i ? "," : "");
			json_print_str(stdout, v[i].name);
			printf(",\"ifindex\":%u,\"ingress\":\"%s\",\"egress\":\"tc\","
			       "\"created_qdisc\":%s,\"attached_at\":%llu,\"state\":\"%s\","
			       "\"live_ifindex\":",
			       v[i].ifindex, ingress_name(&v[i]),
			       v[i].created_qdisc ? "true" : "false",
			       (unsigned long long)v[i].attached_at, xs_live_name(live[i].state));
			if (live[i].ifindex)
				printf("%u", live[i].ifindex);
			else
				printf("null");
			printf(",\"hooks\":");
			hooks_json(&live[i]);
			printf(",\"problems\":");
			json_print_str(stdout, state);
			printf(",\"bound\":");
			if (port_binding(&ctl.maps, &v[i], bound, sizeof(bound), &bi)) {
				printf("{\"segment\":");
				json_print_str(stdout, bound);
				printf(",\"pattern\":");
				json_print_str(stdout, bi.pattern);
				printf("}");
			} else {
				printf("null");
			}
			printf("}");
		}
		printf("],\"unrecorded\":");
		strays_json(strays, nstrays);
		printf(",\"policy\":");
		if (cfg.generation) {
			printf("{\"generation\":%u,\"set\":%u,\"file\":", cfg.generation,
			       cfg.generation & 1);
			json_print_str(stdout, meta.file);
			printf(",\"sha256\":\"%s\",\"applied_at\":%llu,\"rules\":%u", hash,
			       (unsigned long long)meta.applied_at, meta.nrules);
			confirm_json(&ctl.maps, &cs);
			printf("}");
		} else {
			printf("null");
		}
		overlays_json(ov, nov);
		printf(",\"agent\":");
		xs_agent_view_json(&av);
		printf(",\"conntrack\":{\"entries\":%llu,\"live\":%llu,\"max\":%llu,"
		       "\"ipv4\":%llu,\"ipv6\":%llu,\"denials\":%llu,\"evictions\":%llu}",
		       (unsigned long long)(fl.live4 + fl.live6 + fl.denials + fl.stale),
		       (unsigned long long)(fl.live4 + fl.live6),
		       (unsigned long long)(fl.slots4 + fl.slots6), (unsigned long long)fl.live4,
		       (unsigned long long)fl.live6, (unsigned long long)fl.denials,
		       (unsigned long long)fl.evicted);
		printf(",\"events\":{\"sent\":%llu,\"lost\":%llu,\"ratelimited\":%llu}}\n",
		       (unsigned long long)evt.ev[XS_EV_SENT],
		       (unsigned long long)evt.ev[XS_EV_LOST],
		       (unsigned long long)evt.ev[XS_EV_RATELIMITED]);
		ret = is_protected ? XS_EXIT_OK : XS_EXIT_UNPROTECTED;
		goto out;
	}

	printf("%s\n", summary);
	printf("pinned at %s\n", ctl.dir);
	printf("interfaces: %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		xs_show_time(v[i].attached_at, when, sizeof(when));
		live_text(&v[i], &live[i], state, sizeof(state));
		if (port_binding(&ctl.maps, &v[i], bound, sizeof(bound), &bi))
			snprintf(bound + strlen(bound), sizeof(bound) - strlen(bound), " (%s)",
				 bi.pattern);
		else
			snprintf(bound, sizeof(bound), "no");
		printf("  %-15s ifindex %-4u ingress %-11s egress tc   since %s   %s   bound: %s\n",
		       v[i].name, v[i].ifindex, ingress_name(&v[i]), when, state, bound);
	}
	if (nstrays) {
		printf("xdpseg hooks no record lists: %zu (remove them with 'xdpseg detach "
		       "--all')\n",
		       nstrays);
		for (size_t i = 0; i < nstrays; i++) {
			xs_hooks_names(strays[i].hooks, what, sizeof(what));
			printf("  %-15s ifindex %-4u %s\n", strays[i].name, strays[i].ifindex,
			       what);
		}
	}
	if (cfg.generation) {
		xs_show_time(meta.applied_at, when, sizeof(when));
		printf("policy: generation %u (set %u)\n", cfg.generation, cfg.generation & 1);
		printf("  file:    %s\n  sha256:  %s\n  applied: %s\n  rules:   %u\n", meta.file,
		       hash, when, meta.nrules);
		confirm_text(&ctl.maps, &cs);
	} else {
		printf("policy: none applied (traffic passes unchecked): run 'xdpseg apply "
		       "FILE'\n");
	}
	overlays_text(ov, nov);
	xs_agent_view_text(&av);
	printf("conntrack: %llu live flows (IPv4 %llu of %llu slots, IPv6 %llu of %llu), "
	       "%llu denials remembered, %llu evictions (a full bucket gave a live flow's slot "
	       "away)\n",
	       (unsigned long long)(fl.live4 + fl.live6), (unsigned long long)fl.live4,
	       (unsigned long long)fl.slots4, (unsigned long long)fl.live6,
	       (unsigned long long)fl.slots6, (unsigned long long)fl.denials,
	       (unsigned long long)fl.evicted);
	printf("events: %llu sent, %llu lost (ring buffer full), %llu rate-limited (per verdict "
	       "and reason: xdpseg stats)\n",
	       (unsigned long long)evt.ev[XS_EV_SENT], (unsigned long long)evt.ev[XS_EV_LOST],
	       (unsigned long long)evt.ev[XS_EV_RATELIMITED]);
	ret = is_protected ? XS_EXIT_OK : XS_EXIT_UNPROTECTED;
out:
	xs_agent_view_free(&av);
	free(ov);
	free(strays);
	free(live);
	free(v);
	xs_ctl_close(&ctl);
	return ret;
}
