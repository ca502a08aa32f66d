// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Commit-confirm, userspace side (user/ctl/confirm.c) over the real maps of
 * a loaded datapath: prearm and arm around a push, the datapath's rollback
 * at the deadline (time advanced through xs_config.clock_offset_ns) made
 * explicit by xs_confirm_settle() (a new generation of the old set's
 * parity, its metadata rewritten, the note of what was undone, packets
 * decided by the old policy, no second event), `rollback` and `confirm`
 * with their refusals and messages, the unconfirmed artefact promoted or
 * dropped in a state directory, and an apply --confirm that stopped before
 * its push.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ctl/confirm.h"
#include "ctl/show.h"
#include "ctl/state.h"
#include "harness.h"
#include "util.h"

static struct h H;
static char tmp[64], msgs[8192];

/* p_err and p_warn land here: "E: msg\n" or "W: msg\n". */
static void logged(int level, const char *msg)
{
	size_t o = strlen(msgs);

	snprintf(msgs + o, sizeof(msgs) - o, "%s: %s\n", level == LOG_ERR ? "E" : "W", msg);
}

static void setup(void)
{
	h_open(&H);
	snprintf(tmp, sizeof(tmp), "/tmp/xs-confirm-XXXXXX");
	cr_assert(mkdtemp(tmp));
	chmod(tmp, 0700);
	msgs[0] = '\0';
	xs_set_log(logged);
}

static void teardown(void)
{
	char cmd[128];

	xs_set_log(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd))
		cr_log_warn("cannot remove %s", tmp);
	h_close(&H);
}

TestSuite(confirm, .init = setup, .fini = teardown);

static const char *before = "segment a 10.1.0.0/16\n"
			    "segment b 10.2.0.0/16\n"
			    "allow a -> b : tcp/443\n"
			    "default b in deny\n";
static const char *after = "segment a 10.1.0.0/16\n"
			   "segment b 10.2.0.0/16\n"
			   "allow a -> b : tcp/80\n"
			   "default b in deny\n";

static void advance(int64_t secs)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.clock_offset_ns += secs * (int64_t)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
}

/* Does a new flow a -> b:port pass now? (a new source port each time) */
static bool passes(uint16_t port)
{
	static uint16_t sport = 30000;
	struct pkt_spec s = PKT_TCP("10.1.0.5", sport++, "10.2.0.9", port, TH_SYN);
	struct pkt p;

	cr_assert_eq(pkt_build(&p, &s), 0);
	return h_passed(false, h_run(&H, false, &p));
}

static size_t rollback_events(void)
{
	size_t n = 0;

	for (size_t i = 0; i < H.nev; i++)
		n += !!(H.ev[i].flags & XS_EVF_ROLLBACK);
	return n;
}

/* apply --confirm SECS of `after` over `before`, as cmd_apply.c does it:
 * prearm, push, arm. Returns the generation of `before`. */
static uint32_t apply_confirm(uint64_t secs)
{
	struct xs_confirm c;
	uint32_t prev = 0;

	h_push(&H, before);
	cr_assert_eq(xs_confirm_prearm(&H.maps, secs, &prev), 0, "%s", msgs);
	cr_assert_eq(prev, H.generation);
	cr_assert_eq(xs_confirm_pending(&H.maps), 1, "prearmed: pending");
	h_push(&H, after);
	cr_assert_eq(xs_confirm_arm(&H.maps, prev, secs, &c), 0, "%s", msgs);
	cr_assert_eq(c.state, XS_CONFIRM_PENDING);
	cr_assert_eq(c.generation, prev + 1);
	cr_assert_eq(c.rollback_generation, prev);
	cr_assert(c.left_ns > (int64_t)(secs - 1) * (int64_t)XS_NS_PER_SEC &&
			  c.left_ns <= (int64_t)secs * (int64_t)XS_NS_PER_SEC,
		  "%lld ns left", (long long)c.left_ns);
	cr_assert(labs((long)(c.deadline_at - time(NULL)) - (long)secs) <= 1);
	cr_assert(xs_confirm_save(tmp, H.c, "/etc/after.policy") == 0, "%s", msgs);
	return prev;
}

static uint32_t meta_gen(uint32_t set)
{
	struct xs_policy_meta meta;

	cr_assert_eq(xs_meta_get(&H.maps, set, &meta), 0);
	return meta.generation;
}

static bool exists(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, sub);
	return access(path, F_OK) == 0;
}

Test(confirm, missed_deadline_made_explicit)
{
	uint32_t prev = apply_confirm(30);
	struct xs_rollback rb;
	struct xs_confirm c;
	struct xs_config cfg;

	cr_assert(passes(80) && !passes(443), "before the deadline: the new policy");
	advance(31);
	cr_assert_eq(xs_confirm_pending(&H.maps), 0, "past the deadline: not pending");
	cr_assert_eq(xs_confirm_read(&H.maps, &c), 0);
	cr_assert_eq(c.state, XS_CONFIRM_ROLLED_BACK);
	cr_assert(!c.seen, "no packet saw it yet");
	cr_assert(passes(443) && !passes(80), "past it: the datapath decides by the policy before");
	cr_assert_eq(xs_confirm_read(&H.maps, &c), 0);
	cr_assert(c.seen, "rolled_back set by the datapath");

	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_settle(&H.maps, tmp, &rb), 1, "%s", msgs);
	cr_assert_eq(rb.undone, prev + 1);
	cr_assert_eq(rb.restored, prev);
	cr_assert_eq(rb.generation, prev + 2, "the next generation of the old set's parity");
	cr_assert(rb.missed);
	cr_assert_str_eq(rb.restored_file, "main.policy");
	cr_assert(strstr(msgs, "W: rolled back at ") &&
			  strstr(msgs, "(confirm missed): generation"),
		  "%s", msgs);
	cfg = h_cfg(&H);
	cr_assert_eq(cfg.generation, prev + 2);
	cr_assert_eq(cfg.confirm_deadline_ns, 0);
	cr_assert_eq(cfg.rolled_back, 0);
	cr_assert_eq(cfg.rollback_generation, prev + 1, "the note of what was undone");
	cr_assert_eq(meta_gen(prev & 1), prev + 2,
		     "the old set's metadata names its new generation");
	cr_assert_eq(meta_gen((prev + 1) & 1), prev + 1, "the undone set left as it was");
	cr_assert_eq(xs_confirm_read(&H.maps, &c), 0);
	cr_assert_eq(c.state, XS_CONFIRM_NONE);
	cr_assert_eq(c.undone_generation, prev + 1, "status: rolled back (confirm missed)");
	cr_assert(labs((long)(c.undone_at - time(NULL))) <= 2, "at the deadline");
	cr_assert(!exists("confirm/policy.xsc"), "the unconfirmed artefact is dropped");

	cr_assert(passes(443) && !passes(80), "made explicit: still the policy before");
	cr_assert_eq(rollback_events(), 0, "no second rollback event");
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_settle(&H.maps, tmp, NULL), 0, "once");
	cr_assert_str_eq(msgs, "", "and without a word");

	/* the next push forgets the note */
	h_push(&H, after);
	cr_assert_eq(xs_confirm_read(&H.maps, &c), 0);
	cr_assert_eq(c.undone_generation, 0);
}

Test(confirm, rollback_now)
{
	uint32_t prev = apply_confirm(60);
	struct xs_rollback rb;
	struct xs_confirm c;

	cr_assert_eq(xs_confirm_rollback(&H.maps, tmp, &rb), 0, "%s", msgs);
	cr_assert(!rb.missed);
	cr_assert_eq(rb.generation, prev + 2);
	cr_assert(passes(443) && !passes(80), "the policy before, at once");
	cr_assert_eq(h_cfg(&H).confirm_deadline_ns, 0);
	cr_assert_eq(xs_confirm_read(&H.maps, &c), 0);
	cr_assert_eq(c.undone_generation, 0, "asked for: no missed confirm to report");
	cr_assert(!exists("confirm/policy.xsc"));
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_rollback(&H.maps, tmp, &rb), -ENOENT);
	cr_assert(strstr(msgs, "E: nothing to roll back: no apply --confirm is pending"), "%s",
		  msgs);
	advance(61);
	cr_assert(passes(443) && !passes(80), "and no deadline left to act on");
}

Test(confirm, confirm_keeps_and_promotes)
{
	struct xs_compiled *saved = NULL;
	struct xs_confirm c;
	char *file = NULL;

	apply_confirm(30);
	cr_assert(exists("confirm/policy.xsc"));
	cr_assert_eq(xs_confirm_confirm(&H.maps, tmp, &c), 0, "%s", msgs);
	cr_assert_eq(c.state, XS_CONFIRM_PENDING, "what was confirmed");
	cr_assert_eq(h_cfg(&H).confirm_deadline_ns, 0);
	cr_assert_eq(h_cfg(&H).rollback_generation, 0);
	cr_assert(!exists("confirm/policy.xsc"), "moved");
	cr_assert_eq(xs_state_load(tmp, &saved, &file), 0, "%s", msgs);
	cr_assert_eq(memcmp(saved->hash, H.c->hash, sizeof(saved->hash)), 0,
		     "the confirmed policy is the last good one");
	cr_assert_str_eq(file, "/etc/after.policy");
	xs_compiled_free(saved);
	free(file);
	advance(31);
	cr_assert(passes(80) && !passes(443), "confirmed: no rollback at the old deadline");
	cr_assert_eq(rollback_events(), 0);
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_confirm(&H.maps, tmp, &c), -ENOENT);
	cr_assert(strstr(msgs, "E: nothing to confirm: no apply --confirm is pending"), "%s", msgs);
}

Test(confirm, too_late)
{
	uint32_t prev = apply_confirm(5);
	struct xs_confirm c;

	advance(6);
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_confirm(&H.maps, tmp, &c), -ESTALE);
	cr_assert(strstr(msgs, "E: too late to confirm"), "%s", msgs);
	cr_assert(strstr(msgs, "W: rolled back at "), "made explicit first: %s", msgs);
	cr_assert_eq(h_cfg(&H).generation, prev + 2);
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_confirm(&H.maps, tmp, &c), -ENOENT);
	cr_assert(strstr(msgs, "(confirm missed); apply it again"), "%s", msgs);
}

Test(confirm, refusals)
{
	uint32_t prev = 0;

	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_prearm(&H.maps, 30, &prev), -ENOENT, "no policy in force");
	cr_assert(strstr(msgs, "needs a policy in force to go back to"), "%s", msgs);
	apply_confirm(120);
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_prearm(&H.maps, 30, &prev), -EBUSY, "one pending already");
	cr_assert_eq(xs_confirm_refuse(&H.maps, "grant"), -EBUSY);
	cr_assert(strstr(msgs, "E: grant refused: a commit-confirm is pending: generation"), "%s",
		  msgs);
	cr_assert(strstr(msgs, "in 2m unless confirmed; run 'xdpseg confirm' to keep it or "
			       "'xdpseg rollback' to go back now, then grant again"),
		  "%s", msgs);
}

Test(confirm, stopped_before_its_push)
{
	struct xs_rollback rb;
	uint32_t prev = 0, gen;

	h_push(&H, before);
	gen = H.generation;
	cr_assert_eq(xs_confirm_prearm(&H.maps, 5, &prev), 0);
	/* the process died here: no push, no arm */
	advance(5 + 61);
	cr_assert(passes(443), "going back to the policy in force changes nothing");
	msgs[0] = '\0';
	cr_assert_eq(xs_confirm_settle(&H.maps, tmp, &rb), 1);
	cr_assert_eq(rb.generation, gen, "nothing undone: the generation stays");
	cr_assert(strstr(msgs, "stopped before its push"), "%s", msgs);
	cr_assert_eq(h_cfg(&H).confirm_deadline_ns, 0);
	cr_assert_eq(h_cfg(&H).rollback_generation, 0);
	cr_assert_eq(h_cfg(&H).generation, gen);
}

Test(confirm, disarm_after_a_failed_push)
{
	uint32_t prev = 0;

	h_push(&H, before);
	cr_assert_eq(xs_confirm_prearm(&H.maps, 30, &prev), 0);
	xs_confirm_disarm(&H.maps);
	cr_assert_eq(xs_confirm_pending(&H.maps), 0);
	cr_assert_eq(h_cfg(&H).confirm_deadline_ns, 0);
	advance(100);
	cr_assert(passes(443));
	cr_assert_eq(rollback_events(), 0);
}
