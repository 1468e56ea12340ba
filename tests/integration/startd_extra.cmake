# issue 4: start/stop/refresh method timeouts, and kinit's shutdown budget
# cutting kstartd's stop timeouts.
systemk_itest(it_startd_timeouts startd_timeouts.sh)
# issue 4: the `start` snapshot at each successful start (DESIGN section 3).
systemk_itest(it_startd_start_snapshot startd_start_snapshot.sh)
# issue 4: re-adoption after kstartd's death with kinit as PID 1 (root).
systemk_itest(it_startd_readopt_pid1 startd_readopt_pid1.sh)
# issue 4: a setsid forking daemon without pidfile, by cgroup and without.
systemk_itest(it_startd_cgroup startd_cgroup.sh)
