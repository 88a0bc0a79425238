// hash_many: SHA-256 of many short messages in one call, into a packed N x 32 output.
//
// hashMany(input: Uint8Array, offsets: Uint32Array, count: number, out: Uint8Array): void
//   out[32i .. 32i+32) = SHA-256(input[offsets[i] .. offsets[i+1]))  for i in [0, count)
//
// Why native: per message, node:crypto pays a JS->C++ transition, an EVP context and a string or
// Buffer for the result (~0.25-1 us). Identifiers are 12-40 bytes, i.e. one SHA-256 block, so the
// compression itself is ~0.05 us with the CPU's SHA extensions. One call per batch amortises the
// boundary; the loop below is only compression and padding.
//
// Two kernels, chosen once per process with cpuid:
//   sha-ni   x86-64 SHA extensions (Intel Goldmont+/Ice Lake+, AMD Zen), hand-written below;
//   openssl  SHA256_* from the OpenSSL that Node itself links and exports (every other CPU; its
//            assembly picks AVX2/SSSE3/SHA-NI itself).
// Both are exported (hashMany picks the best, hashManyOpenssl forces the second) so tests can
// check each against node:crypto on the same machine.
//
// Plain Node-API C (no node-addon-api dependency). NAPI_MODULE_INIT makes the module
// context-aware: it loads in worker_threads as well as the main thread. No global mutable state
// besides the kernel choice, which is the same for every thread.
// The low-level SHA256_* calls are deprecated in OpenSSL 3 but still exported; unlike the one-shot
// SHA256(), which fetches an EVP provider per call (~0.25 us), they go straight to the assembly.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HP_HAVE_SHANI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace {

constexpr size_t kDigest = 32;
constexpr size_t kBlock = 64;

#ifdef HP_HAVE_SHANI_CODE

alignas(16) const uint32_t kRound[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define HP_SHANI __attribute__((target("sha,sse4.1,ssse3")))

// The SHA instructions keep the state as two registers, ABEF and CDGH (lane 3 first).
struct ShaState { __m128i abef, cdgh; };

HP_SHANI inline ShaState InitialState() {
  // H0..H7 = a..h, rearranged into the ABEF / CDGH lane order.
  return { _mm_set_epi32(0x6a09e667, 0xbb67ae85, 0x510e527f, 0x9b05688c),
           _mm_set_epi32(0x3c6ef372, 0xa54ff53a, 0x1f83d9ab, 0x5be0cd19) };
}

// One 64-byte block. The 16 quad-rounds are written as one loop the compiler fully unrolls:
// quad q adds message words W[q] (kept in a ring of four registers) and round constants, runs
// four rounds, and advances the message schedule (msg1 three quads ahead, msg2 one ahead).
HP_SHANI inline void Compress(ShaState& s, const uint8_t* block) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  const __m128i abef0 = s.abef, cdgh0 = s.cdgh;
  __m128i w[4];
#pragma GCC unroll 16
  for (int q = 0; q < 16; q++) {
    if (q < 4) w[q] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * q)), bswap);
    __m128i msg = _mm_add_epi32(w[q & 3], _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * q)));
    s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, msg);
    if (q >= 3 && q <= 14) {
      __m128i& next = w[(q + 1) & 3];
      next = _mm_add_epi32(next, _mm_alignr_epi8(w[q & 3], w[(q + 3) & 3], 4));
      next = _mm_sha256msg2_epu32(next, w[q & 3]);
    }
    msg = _mm_shuffle_epi32(msg, 0x0e);
    s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, msg);
    if (q >= 1 && q <= 12) w[(q + 3) & 3] = _mm_sha256msg1_epu32(w[(q + 3) & 3], w[q & 3]);
  }
  s.abef = _mm_add_epi32(s.abef, abef0);
  s.cdgh = _mm_add_epi32(s.cdgh, cdgh0);
}

HP_SHANI inline void StoreDigest(const ShaState& s, uint8_t* out) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  const __m128i feba = _mm_shuffle_epi32(s.abef, 0x1b);
  const __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xb1);
  const __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
  const __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(dcba, bswap));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_shuffle_epi8(hgfe, bswap));
}

// Whole message: full blocks straight from the input, then the tail with the 0x80 marker and the
// 64-bit big-endian bit length (one padding block if the tail is <= 55 bytes, else two).
HP_SHANI void Sha256ShaNi(const uint8_t* data, size_t len, uint8_t* out) {
  ShaState s = InitialState();
  const size_t full = len & ~(kBlock - 1);
  for (size_t i = 0; i < full; i += kBlock) Compress(s, data + i);
  const size_t tail = len - full;
  alignas(16) uint8_t pad[2 * kBlock] = {0};
  if (tail > 0) memcpy(pad, data + full, tail);
  pad[tail] = 0x80;
  const size_t padLen = tail <= kBlock - 9 ? kBlock : 2 * kBlock;
  const uint64_t bits = static_cast<uint64_t>(len) << 3;
  for (int b = 0; b < 8; b++) pad[padLen - 1 - b] = static_cast<uint8_t>(bits >> (8 * b));
  Compress(s, pad);
  if (padLen == 2 * kBlock) Compress(s, pad + kBlock);
  StoreDigest(s, out);
}

bool CpuHasShaNi() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = (c & bit_SSSE3) != 0, sse41 = (c & bit_SSE4_1) != 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & (1u << 29)) != 0;  // CPUID.(EAX=7,ECX=0):EBX[29] = SHA
}

#endif  // HP_HAVE_SHANI_CODE

void Sha256Openssl(const uint8_t* data, size_t len, uint8_t* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, len);
  SHA256_Final(out, &ctx);
}

using Kernel = void (*)(const uint8_t*, size_t, uint8_t*);

Kernel BestKernel(const char** name) {
#ifdef HP_HAVE_SHANI_CODE
  if (CpuHasShaNi()) { *name = "sha-ni"; return Sha256ShaNi; }
#endif
  *name = "openssl";
  return Sha256Openssl;
}

const char* gBestName = nullptr;
Kernel gBest = nullptr;  // set once in Init; every thread computes the same value

// Returns nullptr after throwing a pending JS exception.
uint8_t* Uint8Arg(napi_env env, napi_value v, const char* what, size_t* length) {
  bool is = false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return nullptr;
  }
  // A zero-length view may have no backing store; callers never dereference it then.
  static uint8_t empty;
  return data != nullptr ? static_cast<uint8_t*>(data) : &empty;
}

napi_value HashWith(napi_env env, napi_callback_info info, Kernel kernel) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "hashMany(input, offsets, count, out) takes 4 arguments");
    return nullptr;
  }
  size_t inputLen = 0, outLen = 0, offsetsLen = 0;
  const uint8_t* input = Uint8Arg(env, argv[0], "input must be a Uint8Array", &inputLen);
  if (input == nullptr) return nullptr;

  bool is = false;
  napi_typedarray_type type;
  void* offsetsData = nullptr;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[1], &type, &offsetsLen, &offsetsData, nullptr, nullptr) != napi_ok ||
      type != napi_uint32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "offsets must be a Uint32Array");
    return nullptr;
  }
  const uint32_t* offsets = static_cast<const uint32_t*>(offsetsData);

  napi_valuetype vt;
  double countD = 0;
  if (napi_typeof(env, argv[2], &vt) != napi_ok || vt != napi_number ||
      napi_get_value_double(env, argv[2], &countD) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "count must be a number");
    return nullptr;
  }
  if (!(countD >= 0) || countD != static_cast<double>(static_cast<uint64_t>(countD)) || countD > 4294967295.0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count must be an integer in [0, 2^32)");
    return nullptr;
  }
  const size_t count = static_cast<size_t>(countD);

  uint8_t* out = Uint8Arg(env, argv[3], "out must be a Uint8Array", &outLen);
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
  // If out overlaps input, later messages read bytes already overwritten: callers pass separate
  // buffers (the TS wrapper documents it); this is memory-safe either way, only the result differs.
  for (size_t i = 0; i < count; i++) kernel(input + offsets[i], offsets[i + 1] - offsets[i], out + kDigest * i);
  return nullptr;
}

napi_value HashMany(napi_env env, napi_callback_info info) { return HashWith(env, info, gBest); }
napi_value HashManyOpenssl(napi_env env, napi_callback_info info) { return HashWith(env, info, Sha256Openssl); }

}  // namespace

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  if (gBest == nullptr) gBest = BestKernel(&gBestName);
  napi_value fn, name;
  if (napi_create_function(env, "hashMany", NAPI_AUTO_LENGTH, HashMany, nullptr, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "hashMany", fn) != napi_ok) return nullptr;
  if (napi_create_function(env, "hashManyOpenssl", NAPI_AUTO_LENGTH, HashManyOpenssl, nullptr, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "hashManyOpenssl", fn) != napi_ok) return nullptr;
  if (napi_create_string_utf8(env, gBestName, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_set_named_property(env, exports, "kernel", name) != napi_ok) return nullptr;
  return exports;
}
