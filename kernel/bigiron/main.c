// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron: one KVM guest whose RAM and CPUs are spread over several hosts.
 *
 * Init sets the subsystems up in order and publishes /dev/bigiron last, so
 * that no user can reach a half-initialised module; exit mirrors init.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "bigiron.h"

static int __init bigiron_init(void)
{
	int err;

	err = bigiron_stats_init();
	if (err)
		return err;

	err = bigiron_ssi_module_init();
	if (err)
		goto err_stats;

	err = bigiron_dsm_module_init();
	if (err)
		goto err_ssi;

	err = bigiron_dev_init();
	if (err)
		goto err_dsm;

	pr_info("ABI version %u ready\n", BIGIRON_ABI_VERSION);
	return 0;

err_dsm:
	bigiron_dsm_module_exit();
err_ssi:
	bigiron_ssi_module_exit();
err_stats:
	bigiron_stats_exit();
	return err;
}

static void __exit bigiron_exit(void)
{
	bigiron_dev_exit();
	bigiron_dsm_module_exit();
	bigiron_ssi_module_exit();
	bigiron_stats_exit();
}

module_init(bigiron_init);
module_exit(bigiron_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bigiron: one KVM guest spread over several hosts");
MODULE_VERSION("0.1.0");
