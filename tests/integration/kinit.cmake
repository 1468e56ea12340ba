# kinit: the whole stack as PID 1 of a PID namespace and as a subreaper
# (root: unshare), and kinit's own contract against stand-in daemons.
systemk_itest(it_kinit_pid1 kinit_pid1.sh)
systemk_itest(it_kinit_fakes kinit_fakes.sh)
