# cmake --install, and a client built against the install via pkg-config.
systemk_itest(it_install install.sh)
