/*
 * Imprint keys group sample: an MCUmgr SMP server whose keys group (firmware/zephyr, registered
 * by CONFIG_IMPRINT_KEYS) makes, keeps and uses device keys on PSA Crypto. Nothing to call here:
 * MCUmgr serves requests from its work queue.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

LOG_MODULE_REGISTER(imprint_sample, LOG_LEVEL_INF);

int main(void)
{
	LOG_INF("imprint keys sample: SMP keys group %d", CONFIG_IMPRINT_KEYS_GROUP_ID);
	while (1) {
		k_sleep(K_FOREVER);
	}
	return 0;
}
