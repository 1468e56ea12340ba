# kctl: the systemd unit translator (kctl import-unit); seed corpus from
# Debian's own unit files and one unit using every translated directive.
systemk_fuzz(fuzz_unit_import SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_unit_import.c
             LIBS kctl_core)
