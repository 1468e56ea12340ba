systemk_itest(it_tutorial tutorial.sh)
set_tests_properties(it_tutorial PROPERTIES SKIP_RETURN_CODE 77)
