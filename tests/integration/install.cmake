# cmake --install, and a client built against the install via pkg-config.
systemk_itest(it_install install.sh)
if(SYSTEMK_SANITIZE)
  set_tests_properties(it_install PROPERTIES
    ENVIRONMENT "CONSUMER_CFLAGS=-fsanitize=address,undefined")
endif()
