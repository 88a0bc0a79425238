// hash_many: SHA-256 of many short messages in one call, into a packed N x 32 output.
//
// hashMany(input: Uint8Array, offsets: Uint32Array, count: number, out: Uint8Array): void
//   out[32i .. 32i+32) = SHA-256(input[offsets[i] .. offsets[i+1]))  for i in [0, count)
//
// Why native: per message, node:crypto pays a JS->C++ transition, an EVP context and a string or
// Buffer for the result (~0.25-1 us). Identifiers are 12-40 bytes, i.e. one SHA-256 block, which
// the CPU compresses in ~0.05 us. One call per batch amortises the boundary; the loop below only
// pads and compresses.
//
// SHA-256 is the OpenSSL that Node itself links and exports (no extra library, no linking flags),
// except that messages of one block go two at a time through SHA-NI where the CPU has it
// (sha256_pairs.h: 25 ns per 25-byte message against 46 ns through OpenSSL one at a time).

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "napi_args.h"
#include "scan_layout.h"
#include "sha256_pairs.h"

namespace hashpipe {

napi_value HashMany(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  // Missing arguments arrive as undefined and fail the type checks below, like the JS fallback.
  size_t inputLen = 0, outLen = 0, offsetsLen = 0, count = 0;
  auto* input = static_cast<const uint8_t*>(TypedArg(env, argv[0], napi_uint8_array, "input must be a Uint8Array", &inputLen));
  if (input == nullptr) return nullptr;
  auto* offsets = static_cast<const uint32_t*>(TypedArg(env, argv[1], napi_uint32_array, "offsets must be a Uint32Array", &offsetsLen));
  if (offsets == nullptr) return nullptr;
  if (!IntegerArg(env, argv[2], 4294967295.0, "count must be a number", "count must be an integer in [0, 2^32)", &count)) return nullptr;
  auto* out = static_cast<uint8_t*>(TypedArg(env, argv[3], napi_uint8_array, "out must be a Uint8Array", &outLen));
  if (out == nullptr) return nullptr;
  if (count == 0) return nullptr;
  if (offsetsLen < count + 1) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offsets must hold count + 1 entries");
    return nullptr;
  }
  if (outLen / kDigest < count) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out must hold count * 32 bytes");
    return nullptr;
  }
  // Validate every bound before writing anything, so a bad call leaves `out` untouched.
  if (offsets[count] > inputLen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offsets must not point past the end of input");
    return nullptr;
  }
  for (size_t i = 0; i < count; i++) {
    if (offsets[i] > offsets[i + 1]) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offsets must be non-decreasing");
      return nullptr;
    }
  }
  // Each offset is read once and re-checked: if offsets live in a SharedArrayBuffer another
  // thread could change them after the pass above, and that must not become an out-of-bounds read.
  // If out overlaps input, later messages read bytes already overwritten: callers pass separate
  // buffers (the TS wrapper documents it); this is memory-safe either way, only the result differs.
  PairHasher hasher;
  uint32_t start = offsets[0];
  for (size_t i = 0; i < count; i++) {
    const uint32_t end = offsets[i + 1];
    if (end < start || end > inputLen) {
      hasher.Flush();
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offsets changed during the call");
      return nullptr;
    }
    hasher.Add(input + start, end - start, out + kDigest * i);
    start = end;
  }
  hasher.Flush();
  return nullptr;
}

}  // namespace hashpipe
