# issue 4 (performance work): clone spawns, held log lines, the stop path.
systemk_itest(it_startd_spawn startd_spawn.sh)
