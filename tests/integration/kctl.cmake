systemk_itest(it_kctl_basic kctl_basic.sh)
