/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rtnetlink for the selftests: make and remove veth pairs, set links up
 * and their MTU, without iproute2 (busybox's ip cannot make a veth pair).
 * Every function returns 0 or a negative errno.
 */
#ifndef BIGIRON_SELFTEST_NETLINK_H
#define BIGIRON_SELFTEST_NETLINK_H

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nl_req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char buf[512];
};

static inline struct rtattr *nl_tail(struct nlmsghdr *nh)
{
	return (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
}

static inline struct rtattr *nl_attr(struct nlmsghdr *nh, unsigned short type,
				     const void *data, size_t len)
{
	struct rtattr *rta = nl_tail(nh);

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static inline void nl_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nl_tail(nh) - (char *)nest);
}

/* Send one request and return the kernel's answer to it. */
static inline int nl_talk(struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsgerr *e;
	struct nlmsghdr *r;
	ssize_t len;
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	len = recv(fd, buf, sizeof(buf), 0);
	if (len < 0) {
		ret = -errno;
		goto out;
	}
	r = (struct nlmsghdr *)buf;
	ret = -EPROTO;
	if (NLMSG_OK(r, (size_t)len) && r->nlmsg_type == NLMSG_ERROR) {
		e = NLMSG_DATA(r);
		ret = e->error;
	}
out:
	close(fd);
	return ret;
}

/* An RTM_NEWLINK or RTM_DELLINK request on the link called @name. */
static inline int nl_link_req(struct nl_req *req, const char *name,
			      unsigned short type)
{
	unsigned int idx = if_nametoindex(name);

	if (!idx)
		return -ENODEV;
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(req->ifi));
	req->nh.nlmsg_type = type;
	req->ifi.ifi_family = AF_UNSPEC;
	req->ifi.ifi_index = (int)idx;
	return 0;
}

/* ip link del NAME (a veth pair goes with either end) */
static inline int link_del(const char *name)
{
	struct nl_req req;
	int ret;

	ret = nl_link_req(&req, name, RTM_DELLINK);
	return ret ? ret : nl_talk(&req.nh);
}

/* ip link set NAME up (not at creation: a veth end opens once paired) */
static inline int link_up(const char *name)
{
	struct nl_req req;
	int ret;

	ret = nl_link_req(&req, name, RTM_NEWLINK);
	if (ret)
		return ret;
	req.ifi.ifi_flags = IFF_UP;
	req.ifi.ifi_change = IFF_UP;
	return nl_talk(&req.nh);
}

/* ip link set NAME mtu MTU */
static inline int link_mtu(const char *name, unsigned int mtu)
{
	struct nl_req req;
	int ret;

	ret = nl_link_req(&req, name, RTM_NEWLINK);
	if (ret)
		return ret;
	nl_attr(&req.nh, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_talk(&req.nh);
}

/* ip link add A mtu MTU type veth peer name B mtu MTU; both up */
static inline int veth_add(const char *a, const char *b, unsigned int mtu)
{
	struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer;
	struct nl_req req = { 0 };
	int ret;

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	req.ifi.ifi_family = AF_UNSPEC;
	nl_attr(&req.nh, IFLA_IFNAME, a, strlen(a) + 1);
	nl_attr(&req.nh, IFLA_MTU, &mtu, sizeof(mtu));
	info = nl_attr(&req.nh, IFLA_LINKINFO, NULL, 0);
	nl_attr(&req.nh, IFLA_INFO_KIND, "veth", 4);
	data = nl_attr(&req.nh, IFLA_INFO_DATA, NULL, 0);
	peer = nl_attr(&req.nh, VETH_INFO_PEER, &pifi, sizeof(pifi));
	nl_attr(&req.nh, IFLA_IFNAME, b, strlen(b) + 1);
	nl_attr(&req.nh, IFLA_MTU, &mtu, sizeof(mtu));
	nl_end(&req.nh, peer);
	nl_end(&req.nh, data);
	nl_end(&req.nh, info);
	ret = nl_talk(&req.nh);
	if (!ret)
		ret = link_up(a);
	if (!ret)
		ret = link_up(b);
	return ret;
}

#endif /* BIGIRON_SELFTEST_NETLINK_H */
