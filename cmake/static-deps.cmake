# Static linking of rabbitmq-c, json-c and libuuid for the prebuilt binary shipped in the npm
# package (scripts/prebuild.js turns it on with -DKAZOO_STATIC_DEPS=ON). A consumer then needs no
# -dev package and no compiler; OpenSSL stays dynamic so the system keeps patching it.
#
# Sets KAZOO_DEPS to one INTERFACE target, a drop-in for the three pkg-config targets.
# Expects pkg_check_modules() to have filled RABBITMQ_*, JSONC_* and UUID_* already.

find_package(OpenSSL REQUIRED)

# The archive of one pkg-config module, found beside its shared library (Debian ships both in
# the -dev package). No archive is an error: a silently dynamic "prebuilt" binary would only fail
# on the consumer's machine.
function(kazoo_static_archive out prefix lib)
  find_library(${out} NAMES lib${lib}.a HINTS ${${prefix}_LIBRARY_DIRS})
  if(NOT ${out})
    message(FATAL_ERROR "KAZOO_STATIC_DEPS: lib${lib}.a not found (Debian: install the -dev package)")
  endif()
  set(${out} ${${out}} PARENT_SCOPE)
endfunction()

kazoo_static_archive(KAZOO_RABBITMQ_ORIGINAL_A RABBITMQ rabbitmq)

# Debian compiles its archives as PIE, not PIC. Within the addon their own symbols bind locally
# (--exclude-libs below), but librabbitmq's PC-relative reads of libc's `stderr` cannot: a copy
# of the archive reads a hidden variable of ours instead (rabbitmq_stderr.cc). objcopy on an
# archive without such a reference changes nothing.
set(KAZOO_RABBITMQ_A ${CMAKE_BINARY_DIR}/librabbitmq-in-addon.a)
if(NOT CMAKE_OBJCOPY)
  message(FATAL_ERROR "KAZOO_STATIC_DEPS: objcopy not found (Debian: binutils)")
endif()
execute_process(
  COMMAND ${CMAKE_OBJCOPY} --redefine-sym stderr=kazoo_rabbitmq_stderr
          ${KAZOO_RABBITMQ_ORIGINAL_A} ${KAZOO_RABBITMQ_A}
  RESULT_VARIABLE KAZOO_OBJCOPY_RESULT)
if(NOT KAZOO_OBJCOPY_RESULT EQUAL 0)
  message(FATAL_ERROR "KAZOO_STATIC_DEPS: objcopy of ${KAZOO_RABBITMQ_ORIGINAL_A} failed")
endif()
kazoo_static_archive(KAZOO_JSONC_A JSONC json-c)
kazoo_static_archive(KAZOO_UUID_A UUID uuid)

add_library(kazoo_static_deps INTERFACE)
target_sources(kazoo_static_deps INTERFACE ${CMAKE_CURRENT_LIST_DIR}/rabbitmq_stderr.cc)
target_include_directories(kazoo_static_deps INTERFACE
  ${RABBITMQ_INCLUDE_DIRS} ${JSONC_INCLUDE_DIRS} ${UUID_INCLUDE_DIRS})
target_compile_options(kazoo_static_deps INTERFACE
  ${RABBITMQ_CFLAGS_OTHER} ${JSONC_CFLAGS_OTHER} ${UUID_CFLAGS_OTHER})
# rabbitmq-c's archive needs OpenSSL, librt/libdl (Debian's .pc lists them as Libs.private);
# json-c's needs libm.
target_link_libraries(kazoo_static_deps INTERFACE
  ${KAZOO_RABBITMQ_A} ${KAZOO_JSONC_A} ${KAZOO_UUID_A}
  OpenSSL::SSL OpenSSL::Crypto rt dl m)
# Keep the archives' symbols out of the addon's dynamic symbol table: another addon in the same
# process may load the system librabbitmq or json-c, and the two copies must not interpose.
# Hiding them also lets the linker bind their non-PIC-safe references locally.
target_link_options(kazoo_static_deps INTERFACE "LINKER:--exclude-libs,ALL")

set(KAZOO_DEPS kazoo_static_deps)
