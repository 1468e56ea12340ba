# kinit: the whole stack as PID 1 of a PID namespace and as a subreaper
# (root: unshare), and kinit's own contract against stand-in daemons.
systemk_itest(it_kinit_pid1 kinit_pid1.sh)
systemk_itest(it_kinit_fakes kinit_fakes.sh)
# issue 5: the real stack as a container's init, PID 1 and subreaper.
systemk_itest(it_kinit_container kinit_container.sh)
systemk_itest(it_kinit_race kinit_race.sh)
systemk_itest(it_kinit_daemons kinit_daemons.sh)
systemk_itest(it_kinit_rofs kinit_rofs.sh)
systemk_itest(it_kinit_import kinit_import.sh)
systemk_itest(it_kinit_reboot kinit_reboot.sh)
