# SPDX-License-Identifier: Apache-2.0
#
# Integration tests in network namespaces (test/netns/): whole transfers over
# AF_XDP between two namespaces joined by veth, one ctest test per case
# (netns.<case>). Each case builds and removes its own namespace pair; without
# root, iproute2, veth or netns support it prints "skip: ..." and exits 77.
#
# Included from CMakeLists.txt after cmake/bpf.cmake and the pfs_xdp library.
# Only when the AF_XDP backend is built for real (PFS_XDP_ENABLED), and not in
# sanitizer or fuzz builds (too slow there). The cases load both cores, so they
# run one at a time (RESOURCE_LOCK netns).

if(NOT PFS_XDP_ENABLED OR PFS_SANITIZE OR PFS_FUZZ)
  message(STATUS "netns: skipping the AF_XDP namespace tests (netns.*): need PFS_XDP_ENABLED "
                 "and a build without PFS_SANITIZE/PFS_FUZZ")
  return()
endif()

set(pfs_netns_script ${CMAKE_SOURCE_DIR}/test/netns/xdp_transfer_test.sh)
# a case is a function `case_<name>() {` in the script; re-configure when it changes
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${pfs_netns_script})
file(STRINGS ${pfs_netns_script} pfs_netns_lines REGEX "^case_[a-z0-9_]+\\(\\)")
foreach(line ${pfs_netns_lines})
  string(REGEX REPLACE "^case_([a-z0-9_]+)\\(\\).*" "\\1" name "${line}")
  add_test(NAME netns.${name} COMMAND bash ${pfs_netns_script} ${name})
  set_tests_properties(netns.${name} PROPERTIES
    ENVIRONMENT "PFS_TRANSFER_BENCH=$<TARGET_FILE:pfs-transfer-bench>"
    SKIP_RETURN_CODE 77
    TIMEOUT 180
    RESOURCE_LOCK netns)
endforeach()
