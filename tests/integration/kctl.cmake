systemk_itest(it_kctl_basic kctl_basic.sh)
# Every verb: human and --json output, exit codes on success and on each
# documented failure (not found, denied; down and timeout in _down).
systemk_itest(it_kctl_verbs kctl_verbs.sh)
systemk_itest(it_kctl_verbs_down kctl_verbs_down.sh)
set_tests_properties(it_kctl_verbs it_kctl_verbs_down PROPERTIES SKIP_RETURN_CODE 77)
