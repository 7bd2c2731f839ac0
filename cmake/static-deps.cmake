# Static linking of rabbitmq-c, json-c and libuuid for the prebuilt binary shipped in the npm
# package (scripts/prebuild.js turns it on with -DKAZOO_STATIC_DEPS=ON). A consumer then needs no
# -dev package and no compiler; OpenSSL stays dynamic so the system keeps patching it.
#
# Included at the end of CMakeLists.txt: it re-points the link interface of the pkg-config
# targets PkgConfig::RABBITMQ, PkgConfig::JSONC and PkgConfig::UUID from the shared libraries
# to their archives, so the targets that link them need no change.

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
kazoo_static_archive(KAZOO_JSONC_A JSONC json-c)
kazoo_static_archive(KAZOO_UUID_A UUID uuid)

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
add_library(kazoo_rabbitmq_stderr STATIC ${CMAKE_CURRENT_LIST_DIR}/rabbitmq_stderr.cc)

# rabbitmq-c's archive needs OpenSSL, librt and libdl (Debian's .pc lists them as Libs.private);
# json-c's needs libm. Include directories and compile flags stay those pkg-config gave.
set_property(TARGET PkgConfig::RABBITMQ PROPERTY INTERFACE_LINK_LIBRARIES
  ${KAZOO_RABBITMQ_A} kazoo_rabbitmq_stderr OpenSSL::SSL OpenSSL::Crypto rt dl)
set_property(TARGET PkgConfig::JSONC PROPERTY INTERFACE_LINK_LIBRARIES ${KAZOO_JSONC_A} m)
set_property(TARGET PkgConfig::UUID PROPERTY INTERFACE_LINK_LIBRARIES ${KAZOO_UUID_A})
# Keep the archives' symbols out of the addon's dynamic symbol table: another addon in the same
# process may load the system librabbitmq or json-c, and the two copies must not interpose.
# Hiding them also lets the linker bind their PIE-compiled references locally.
set_property(TARGET PkgConfig::RABBITMQ APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:--exclude-libs,ALL")
