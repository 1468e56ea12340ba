systemk_itest(it_startd_verbs startd_verbs.sh)
systemk_itest(it_startd_readopt startd_readopt.sh)
systemk_itest(it_startd_models startd_models.sh)
systemk_itest(it_startd_deps startd_deps.sh)
