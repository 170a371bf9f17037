// SPDX-License-Identifier: GPL-2.0
/* hugetlb ptes can carry uffd-wp (5.19). */
#include <linux/hugetlb.h>

int wpu_probe(pte_t pte);
int wpu_probe(pte_t pte)
{
	return huge_pte_uffd_wp(huge_pte_clear_uffd_wp(pte));
}
