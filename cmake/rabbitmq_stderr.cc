// Owns the one libc data reference of Debian's librabbitmq.a: its amqp_api.c.o reads `stderr`
// with a PC-relative load, which cannot be relocated inside a shared object. static-deps.cmake
// renames that reference to this hidden variable, set to the real stderr when the addon loads.
#include <cstdio>

extern "C" {
__attribute__((visibility("hidden"))) FILE* kazoo_rabbitmq_stderr = stderr;
}
