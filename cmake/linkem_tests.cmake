# SPDX-License-Identifier: Apache-2.0
#
# Integration tests of the link emulator (pfs-linkem, docs/linkem.md) in
# network namespaces: each case builds its own A — M — B topology
# (test/netns/linkem_lib.sh), runs pfs-linkem in M and checks what ping and TCP
# observe through it against what it was told to do and what it reports. One
# ctest test per case (linkem_netns.<case>); without root, iproute2, ethtool,
# veth or netns support a case prints "skip: ..." and exits 77.
#
# Not in sanitizer or fuzz builds: the cases measure time and rate. They use
# the CPUs for whole seconds and their figures suffer from company, so they
# run one at a time with the other namespace tests and with the 1 GiB
# transfers (RESOURCE_LOCK netns and transfer).

if(PFS_SANITIZE OR PFS_FUZZ)
  message(STATUS "linkem: skipping the link-emulator namespace tests (linkem_netns.*) in a "
                 "PFS_SANITIZE/PFS_FUZZ build")
  return()
endif()

set(pfs_linkem_script ${CMAKE_SOURCE_DIR}/test/netns/linkem_test.sh)
# a case is a function `case_<name>() {` in the script; re-configure when it changes
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${pfs_linkem_script})
file(STRINGS ${pfs_linkem_script} pfs_linkem_lines REGEX "^case_[a-z0-9_]+\\(\\)")
foreach(line ${pfs_linkem_lines})
  string(REGEX REPLACE "^case_([a-z0-9_]+)\\(\\).*" "\\1" name "${line}")
  add_test(NAME linkem_netns.${name} COMMAND bash ${pfs_linkem_script} ${name})
  set_tests_properties(linkem_netns.${name} PROPERTIES
    ENVIRONMENT "PFS_LINKEM=$<TARGET_FILE:pfs-linkem>"
    SKIP_RETURN_CODE 77
    TIMEOUT 120
    RESOURCE_LOCK "netns;transfer")
endforeach()
