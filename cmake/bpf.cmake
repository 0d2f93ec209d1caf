# SPDX-License-Identifier: Apache-2.0
#
# BPF programs (bpf/*.bpf.c) and their BPF_PROG_TEST_RUN unit tests.
#
# Built only when everything is there: clang with the BPF target, bpftool (for
# `bpftool gen skeleton`) and libbpf (pkg-config libbpf). When anything is
# missing, or with -DPFS_BPF=OFF, this file says what it skips and why, and the
# rest of the build goes on: the BPF parts are never required to build PacketFS.
#
# Included from CMakeLists.txt after pfs_add_c_test() is defined. Sets:
#   PFS_BPF_ENABLED    ON when the programs and their tests are built
#   PFS_BPF_CLANG      clang used for -target bpf
#   PFS_BPF_BPFTOOL    bpftool used for skeletons
#   PFS_BPF_SKEL_DIR   where <name>.skel.h are generated (in the build dir)
#   PFS_XDP_ENABLED    ON when, in addition, libxdp is found: the AF_XDP backend
#                      (dataplane/io_xdp.c) is built for real
#   target pfs_xdp_skel    the object bpf/pfs_xdp.bpf.o and its skeleton

option(PFS_BPF "Build the BPF programs and their tests when clang, bpftool and libbpf are found" ON)
set(PFS_BPF_ENABLED OFF)
set(PFS_XDP_ENABLED OFF)

function(pfs_bpf_skip why)
  message(STATUS "BPF: skipping the XDP program (bpf/pfs_xdp.bpf.c) and its tests (xdp_prog.*): ${why}")
endfunction()

if(NOT PFS_BPF)
  pfs_bpf_skip("PFS_BPF=OFF")
  return()
endif()

if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  set(pfs_clang_hint ${CMAKE_C_COMPILER})
endif()
find_program(PFS_BPF_CLANG NAMES ${pfs_clang_hint} clang clang-16 clang-15 clang-14)
find_program(PFS_BPF_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
pkg_check_modules(LIBBPF QUIET IMPORTED_TARGET libbpf)

if(NOT PFS_BPF_CLANG)
  pfs_bpf_skip("clang not found (apt-get install clang)")
  return()
endif()
if(NOT PFS_BPF_BPFTOOL)
  pfs_bpf_skip("bpftool not found (apt-get install bpftool)")
  return()
endif()
if(NOT LIBBPF_FOUND)
  pfs_bpf_skip("libbpf not found by pkg-config (apt-get install libbpf-dev)")
  return()
endif()

# The BPF target sees no multiarch include path of its own: <linux/types.h>
# pulls <asm/types.h>, which Debian keeps in /usr/include/<triplet>.
set(pfs_bpf_includes -I${CMAKE_SOURCE_DIR}/bpf)
if(CMAKE_LIBRARY_ARCHITECTURE AND EXISTS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/asm)
  list(APPEND pfs_bpf_includes -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
endif()

# Can this clang compile for BPF, with these headers?
set(pfs_probe ${CMAKE_BINARY_DIR}/CMakeFiles/pfs_bpf_probe.c)
file(WRITE ${pfs_probe} "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nint x;\n")
execute_process(COMMAND ${PFS_BPF_CLANG} -target bpf ${pfs_bpf_includes} -c ${pfs_probe}
                        -o ${pfs_probe}.o
                RESULT_VARIABLE pfs_probe_rc OUTPUT_QUIET ERROR_VARIABLE pfs_probe_err)
if(NOT pfs_probe_rc EQUAL 0)
  string(STRIP "${pfs_probe_err}" pfs_probe_err)
  if(NOT pfs_probe_err)
    set(pfs_probe_err "exit status ${pfs_probe_rc}")
  endif()
  pfs_bpf_skip("${PFS_BPF_CLANG} cannot compile for -target bpf: ${pfs_probe_err}")
  return()
endif()

set(PFS_BPF_ENABLED ON)
set(PFS_BPF_SKEL_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${PFS_BPF_SKEL_DIR})
message(STATUS "BPF: building bpf/pfs_xdp.bpf.c with ${PFS_BPF_CLANG}, skeleton by "
               "${PFS_BPF_BPFTOOL}, libbpf ${LIBBPF_VERSION}")

# name.bpf.c -> name.bpf.o -> name.skel.h (struct name, name__open() ...)
function(pfs_bpf_program name)
  set(src ${CMAKE_SOURCE_DIR}/bpf/${name}.bpf.c)
  set(obj ${PFS_BPF_SKEL_DIR}/${name}.bpf.o)
  set(skel ${PFS_BPF_SKEL_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${PFS_BPF_CLANG} -O2 -g -target bpf -Wall ${pfs_bpf_includes} -c ${src} -o ${obj}
    DEPENDS ${src} ${CMAKE_SOURCE_DIR}/bpf/${name}.h
    COMMENT "BPF: compiling bpf/${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${PFS_BPF_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF: generating ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${skel})
endfunction()

pfs_bpf_program(pfs_xdp)

# xdp_prog.* run the program on crafted frames with BPF_PROG_TEST_RUN. They
# need CAP_BPF (root): without it each case prints "skip:" and passes.
pfs_add_c_test(xdp_prog)
add_dependencies(xdp_prog_test pfs_xdp_skel)
target_include_directories(xdp_prog_test PRIVATE ${PFS_BPF_SKEL_DIR} ${CMAKE_SOURCE_DIR}/bpf)
target_link_libraries(xdp_prog_test PRIVATE PkgConfig::LIBBPF)

# A case that cannot load the program (no CAP_BPF) exits 77 after "skip: ...".
get_property(pfs_all_tests DIRECTORY PROPERTY TESTS)
foreach(t ${pfs_all_tests})
  if(t MATCHES "^xdp_prog\\.")
    set_tests_properties(${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()

# The AF_XDP backend needs libxdp (its xsk API and dispatcher) on top.
pkg_check_modules(LIBXDP QUIET IMPORTED_TARGET libxdp)
if(LIBXDP_FOUND)
  set(PFS_XDP_ENABLED ON)
  message(STATUS "AF_XDP: building the io_xdp backend with libxdp ${LIBXDP_VERSION}")
else()
  message(STATUS "AF_XDP: libxdp not found by pkg-config (apt-get install libxdp-dev): "
                 "--backend xdp will say it is not built")
endif()
