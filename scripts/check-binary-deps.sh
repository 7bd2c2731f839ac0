#!/usr/bin/env bash
# Fails unless a prebuilt addon links dynamically only the C/C++ runtime and OpenSSL, i.e. what
# every glibc Linux with OpenSSL 3 has: rabbitmq-c, json-c and libuuid must be inside it.
# Prints what it found (NEEDED entries, ldd, the newest glibc symbol version it requires).
set -euo pipefail
file="${1:?usage: check-binary-deps.sh <addon.node>}"

allowed='^(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|libssl|libcrypto|ld-linux-x86-64|ld-linux-aarch64)\.so(\.[0-9]+)*$'
mapfile -t needed < <(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
((${#needed[@]})) || { echo "check-binary-deps: no NEEDED entries read from $file" >&2; exit 1; }

echo "check-binary-deps: $file"
echo "  NEEDED: ${needed[*]}"
bad=()
for lib in "${needed[@]}"; do
  [[ "$lib" =~ $allowed ]] || bad+=("$lib")
done
ldd "$file" | sed 's/^\s*/  ldd: /'
if ldd "$file" | grep -q 'not found'; then
  echo "check-binary-deps: a library is missing on this machine" >&2
  exit 1
fi
glibc="$(objdump -T "$file" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
echo "  newest glibc symbol version required: ${glibc:-none}"
# Symbols of the static libraries must not leak out of the addon (another addon in the process
# may load the system's own librabbitmq or json-c).
leaked="$(nm -D --defined-only "$file" | awk '{print $3}' | grep -E '^(amqp_|json_|uuid_|lh_|array_list_|printbuf_)' || true)"
if [[ -n "$leaked" ]]; then
  echo "check-binary-deps: static library symbols are exported: $(echo "$leaked" | head -5 | tr '\n' ' ')" >&2
  exit 1
fi
if ((${#bad[@]})); then
  echo "check-binary-deps: links libraries a consumer may not have: ${bad[*]}" >&2
  exit 1
fi
echo "check-binary-deps: ok"
