// SHA-256 of many short messages, two at a time where the CPU has the SHA extensions.
//
// One message at a time, SHA-NI is latency-bound: each sha256rnds2 waits for the previous one,
// and OpenSSL's kernel (which already uses SHA-NI) reaches ~48 ns per 25-byte message here. Two
// independent messages interleaved keep the unit busy: ~29 ns per message on the same machine
// (AMD EPYC, gcc 12, -O3). Identifiers are 12-40 bytes, one block after padding, so pairs of
// single-block messages are the whole fast path; anything longer, and every CPU without SHA-NI
// (or not x86-64), goes to OpenSSL, one at a time. Digests are identical either way (tested
// against node:crypto at every length around the block boundaries).
//
// PairHasher::Add may hold one message back, copied into its padded block, until a second
// arrives; Flush() hashes it alone. Callers flush before anything reads the digests.
#ifndef HASHPIPE_SHA256_PAIRS_H_
#define HASHPIPE_SHA256_PAIRS_H_

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HASHPIPE_SHA_NI 1
#endif

namespace hashpipe {

// The low-level SHA256_* calls are deprecated in OpenSSL 3 but still exported by Node; unlike the
// one-shot SHA256(), which fetches an EVP provider per call (~0.25 us), they go straight to the
// assembly.
inline void Sha256(const uint8_t* data, size_t len, uint8_t* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, len);
  SHA256_Final(out, &ctx);
}

#ifdef HASHPIPE_SHA_NI
namespace sha_ni {

#define HASHPIPE_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

alignas(16) inline constexpr uint32_t kK[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// Message schedule for rounds 4i..4i+3 of one message: its first four words come from the block,
// later ones from the four before (w[i & 3] is the oldest, overwritten in place).
HASHPIPE_SHA_TARGET inline __m128i Schedule(__m128i* w, int i, const uint8_t* block, __m128i bswap) {
  if (i < 4) return w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * i)), bswap);
  const __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]), _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
  return w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
}

// The SHA-256 of two padded single-block messages, their rounds interleaved.
HASHPIPE_SHA_TARGET inline void Hash2(const uint8_t* b0, const uint8_t* b1, uint8_t* out0, uint8_t* out1) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  // H0..H7 as the instructions hold them: ABEF and CDGH, A in the top lane.
  const __m128i abef0 = _mm_set_epi32(0x6a09e667, 0xbb67ae85, 0x510e527f, 0x9b05688c);
  const __m128i cdgh0 = _mm_set_epi32(0x3c6ef372, 0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
  __m128i abef[2] = {abef0, abef0}, cdgh[2] = {cdgh0, cdgh0};
  __m128i w0[4], w1[4];
  _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) {
    const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * i));
    const __m128i m0 = _mm_add_epi32(Schedule(w0, i, b0, bswap), k);
    const __m128i m1 = _mm_add_epi32(Schedule(w1, i, b1, bswap), k);
    cdgh[0] = _mm_sha256rnds2_epu32(cdgh[0], abef[0], m0);
    cdgh[1] = _mm_sha256rnds2_epu32(cdgh[1], abef[1], m1);
    abef[0] = _mm_sha256rnds2_epu32(abef[0], cdgh[0], _mm_shuffle_epi32(m0, 0x0e));
    abef[1] = _mm_sha256rnds2_epu32(abef[1], cdgh[1], _mm_shuffle_epi32(m1, 0x0e));
  }
  uint8_t* const outs[2] = {out0, out1};
  for (int j = 0; j < 2; j++) {
    // Back to A..H, each word big-endian.
    const __m128i feba = _mm_shuffle_epi32(_mm_add_epi32(abef[j], abef0), 0x1b);
    const __m128i dchg = _mm_shuffle_epi32(_mm_add_epi32(cdgh[j], cdgh0), 0xb1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(outs[j]), _mm_shuffle_epi8(_mm_blend_epi16(feba, dchg, 0xf0), bswap));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(outs[j] + 16), _mm_shuffle_epi8(_mm_alignr_epi8(dchg, feba, 8), bswap));
  }
}

// CPUID leaf 7 EBX bit 29 (SHA), leaf 1 ECX bits 19 (SSE4.1) and 9 (SSSE3).
// HASHPIPE_SHA_PAIRS=0 turns pairs off, to compare the two paths.
inline bool Available() {
  static const bool available = [] {
    const char* env = getenv("HASHPIPE_SHA_PAIRS");
    if (env != nullptr && strcmp(env, "0") == 0) return false;
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool sha = (b >> 29) & 1;
    __cpuid(1, a, b, c, d);
    return sha && ((c >> 19) & 1) && ((c >> 9) & 1);
  }();
  return available;
}

}  // namespace sha_ni
#endif  // HASHPIPE_SHA_NI

class PairHasher {
 public:
  // Longest message that pads to one block: 55 bytes + 0x80 + the 8-byte length.
  static constexpr size_t kMaxPaired = 55;

  PairHasher() {
#ifdef HASHPIPE_SHA_NI
    paired_ = sha_ni::Available();
#endif
  }
  PairHasher(const PairHasher&) = delete;
  PairHasher& operator=(const PairHasher&) = delete;
  ~PairHasher() { Flush(); }

  // SHA-256(data[0, len)) into out (32 bytes), now or at the next Add/Flush. data may be
  // reused as soon as this returns; out must stay valid until then.
  void Add(const uint8_t* data, size_t len, uint8_t* out) {
#ifdef HASHPIPE_SHA_NI
    if (paired_ && len <= kMaxPaired) {
      uint8_t* block = blocks_[held_ != nullptr ? 1 : 0];
      memcpy(block, data, len);
      block[len] = 0x80;
      memset(block + len + 1, 0, 56 - len - 1);
      const uint64_t bits = static_cast<uint64_t>(len) * 8;
      for (int i = 0; i < 8; i++) block[63 - i] = static_cast<uint8_t>(bits >> (8 * i));
      if (held_ == nullptr) {
        held_ = out;
        return;
      }
      sha_ni::Hash2(blocks_[0], blocks_[1], held_, out);
      held_ = nullptr;
      return;
    }
#endif
    Sha256(data, len, out);
  }

  void Flush() {
#ifdef HASHPIPE_SHA_NI
    if (held_ == nullptr) return;
    // The held block is hashed beside a copy of itself: one code path, the spare result dropped.
    uint8_t spare[32];
    sha_ni::Hash2(blocks_[0], blocks_[0], held_, spare);
    held_ = nullptr;
#endif
  }

 private:
#ifdef HASHPIPE_SHA_NI
  bool paired_ = false;
  uint8_t* held_ = nullptr;
  alignas(16) uint8_t blocks_[2][64];
#endif
};

}  // namespace hashpipe

#endif  // HASHPIPE_SHA256_PAIRS_H_
