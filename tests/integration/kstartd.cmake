# kstartd against a real kconfigd in a temp dir (no kinit): order, kill -9,
# restart_on, maintenance, enable/disable, reload, shutdown order.
systemk_itest(it_kstartd kstartd.sh)
