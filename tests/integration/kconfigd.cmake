# kconfigd against its real socket: the editing verbs, permissions, the
# export/import round trip, restore from backup, the crash test, and group
# commit's rerun of a batch one request at a time.
systemk_itest(it_kconfigd_edit kconfigd_edit.sh)
systemk_itest(it_kconfigd_perms kconfigd_perms.sh)
systemk_itest(it_kconfigd_roundtrip kconfigd_roundtrip.sh)
systemk_itest(it_kconfigd_restore kconfigd_restore.sh)
systemk_itest(it_configd_crash configd_crash.sh)
systemk_itest(it_configd_batch_rerun configd_batch_rerun.sh)
