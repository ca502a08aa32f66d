// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath's maps as file descriptors: borrowed, opened from pins, closed. */
#include "maps.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* One row per map: its name and where its fd goes in struct xs_maps. */
struct map_slot {
	const char *name;
	size_t off;
};

#define SLOT(name, field)                             \
	{                                             \
		name, offsetof(struct xs_maps, field) \
	}
/* One map a line. */
/* clang-format off */
static const struct map_slot map_slots[] = {
	SLOT("xs_config", config),
	SLOT("xs_seg4_0", seg4[0]),
	SLOT("xs_seg4_1", seg4[1]),
	SLOT("xs_seg6_0", seg6[0]),
	SLOT("xs_seg6_1", seg6[1]),
	SLOT("xs_rules_0", rules[0]),
	SLOT("xs_rules_1", rules[1]),
	SLOT("xs_rexact_0", rexact[0]),
	SLOT("xs_rexact_1", rexact[1]),
	SLOT("xs_seginfo_0", seginfo[0]),
	SLOT("xs_seginfo_1", seginfo[1]),
	SLOT("xs_rstats_0", rstats[0]),
	SLOT("xs_rstats_1", rstats[1]),
	SLOT("xs_binds_0", binds[0]),
	SLOT("xs_binds_1", binds[1]),
	SLOT("xs_bind4_0", bind4[0]),
	SLOT("xs_bind4_1", bind4[1]),
	SLOT("xs_bind6_0", bind6[0]),
	SLOT("xs_bind6_1", bind6[1]),
	SLOT("xs_ifbind_0", ifbind[0]),
	SLOT("xs_ifbind_1", ifbind[1]),
	SLOT("xs_ifbindx_0", ifbindx[0]),
	SLOT("xs_ifbindx_1", ifbindx[1]),
	SLOT("xs_sets", sets),
	SLOT("xs_stats", stats),
	SLOT("xs_dir4_0", dir4[0]),
	SLOT("xs_dir4_1", dir4[1]),
	SLOT("xs_seg6h_0", seg6h[0]),
	SLOT("xs_seg6h_1", seg6h[1]),
	SLOT("xs_seg6a_0", seg6a[0]),
	SLOT("xs_seg6a_1", seg6a[1]),
	SLOT("xs_paira_0", paira[0]),
	SLOT("xs_paira_1", paira[1]),
	SLOT("xs_portmap_0", portmap[0]),
	SLOT("xs_portmap_1", portmap[1]),
	SLOT("xs_pairc_0", pairc[0]),
	SLOT("xs_pairc_1", pairc[1]),
	SLOT("xs_pairs_0", pairs[0]),
	SLOT("xs_pairs_1", pairs[1]),
	SLOT("xs_fast", fast),
	SLOT("xs_flow4", flow4),
	SLOT("xs_flow6", flow6),
	SLOT("xs_frags", frags),
	SLOT("xs_events", events),
	SLOT("xs_origins", origins),
	SLOT("xs_meta", meta),
	SLOT("xs_ifaces", ifaces),
	SLOT("xs_overlays", overlays),
	SLOT("xs_barrier", barrier),
	SLOT("xs_barrier_in", barrier_in),
};
/* clang-format on */
#define NSLOTS (sizeof(map_slots) / sizeof(map_slots[0]))

static int *slot_fd(struct xs_maps *m, size_t i)
{
	return (int *)((char *)m + map_slots[i].off);
}

static void maps_reset(struct xs_maps *m)
{
	for (size_t i = 0; i < NSLOTS; i++)
		*slot_fd(m, i) = -1;
	m->owned = false;
}

int xs_maps_from_object(struct bpf_object *obj, struct xs_maps *m)
{
	maps_reset(m);
	for (size_t i = 0; i < NSLOTS; i++) {
		int fd = bpf_object__find_map_fd_by_name(obj, map_slots[i].name);

		if (fd < 0) {
			fprintf(stderr, "xdpseg: map '%s' is missing from the BPF object\n",
				map_slots[i].name);
			return -ENOENT;
		}
		*slot_fd(m, i) = fd;
	}
	return 0;
}

int xs_maps_open_pinned(const char *dir, struct xs_maps *m)
{
	char path[512];
	int err = 0;

	maps_reset(m);
	m->owned = true;
	for (size_t i = 0; i < NSLOTS; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, map_slots[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			goto err_close;
		}
		*slot_fd(m, i) = fd;
	}
	return 0;

err_close:
	xs_maps_close(m);
	return err;
}

void xs_maps_close(struct xs_maps *m)
{
	if (m->owned) {
		for (size_t i = 0; i < NSLOTS; i++) {
			if (*slot_fd(m, i) >= 0)
				close(*slot_fd(m, i));
		}
	}
	maps_reset(m);
}

int xs_maps_barrier(const struct xs_maps *m)
{
	__u32 zero = 0;
	__u32 inner = m->barrier_in;

	/* The kernel waits for running programs (synchronize_rcu()) after
	 * every successful update of a map-in-map. */
	if (bpf_map_update_elem(m->barrier, &zero, &inner, BPF_ANY))
		return -errno;
	return 0;
}

int xs_config_read(const struct xs_maps *m, struct xs_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, cfg))
		return -errno;
	return 0;
}

int xs_config_set_snap(const struct xs_maps *m, __u32 snap)
{
	struct xs_config cfg;
	__u32 zero = 0;
	int err;

	if (snap > XS_EV_SNAP_MAX)
		return -EINVAL;
	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	if (cfg.snap_len == snap)
		return 0;
	if (cfg.confirm_deadline_ns && !cfg.rolled_back)
		return -EBUSY;
	cfg.snap_len = snap;
	if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_EXIST))
		return -errno;
	return 0;
}
