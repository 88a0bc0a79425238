// See ascii_normalize.h.
#include "ascii_normalize.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scan_layout.h"

namespace hashpipe {
namespace {

inline int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The 64 lower-case hex characters of `s` as 32 bytes; false when `s` is not exactly that.
bool HexDigest(const uint8_t* s, size_t len, uint8_t* out) {
  if (len != 64) return false;
  for (size_t i = 0; i < 32; i++) {
    const int hi = HexValue(s[2 * i]);
    const int lo = HexValue(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

constexpr Normalized Value(size_t len) { return Normalized{Normalized::kValue, 0, static_cast<uint32_t>(len)}; }
constexpr Normalized DigestWritten() { return Normalized{Normalized::kDigestWritten, 0, 0}; }
constexpr Normalized Rejected(Reason reason) { return Normalized{Normalized::kRejected, static_cast<uint8_t>(reason), 0}; }
constexpr Normalized Deferred() { return Normalized{Normalized::kDeferred, 0, 0}; }

// normalize.ts isPlausibleEmail, on ASCII: "\s or control" is every byte <= 32, and 127.
bool PlausibleEmail(const uint8_t* s, size_t len) {
  const uint8_t* at = static_cast<const uint8_t*>(memchr(s, '@', len));
  if (at == nullptr || at == s) return false;
  const size_t domainStart = static_cast<size_t>(at - s) + 1;
  if (memchr(s + domainStart, '@', len - domainStart) != nullptr) return false;
  if (domainStart >= len || s[domainStart] == '.') return false;
  if (memchr(s + domainStart, '.', len - domainStart) == nullptr) return false;
  if (s[len - 1] == '.') return false;
  for (size_t i = domainStart; i + 1 < len; i++) {
    if (s[i] == '.' && s[i + 1] == '.') return false;
  }
  for (size_t i = 0; i < len; i++) {
    if (s[i] <= 32 || s[i] == 127) return false;
  }
  return true;
}

#ifdef __SSE2__
enum MaidCheck { kMaidOk, kMaidBad, kMaidAllZero };

// The MAID rules on 36 ASCII bytes (the caller has ruled out bytes >= 0x80, so signed byte
// compares order them as ASCII): lower-cased into s, dashes at 8, 13, 18 and 23, hex digits
// elsewhere, not all zeros.
inline MaidCheck CheckMaid(const uint8_t* p, uint8_t* s) {
  const auto lower = [](__m128i c) {
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(c, _mm_set1_epi8('Z' + 1)));
    return _mm_add_epi8(c, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
  };
  const auto in = [](__m128i c, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8(static_cast<char>(lo - 1))), _mm_cmplt_epi8(c, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  // Bytes 0-15, 16-31, and 20-35 (overlapping, so no read past the 36).
  const __m128i v[3] = {lower(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                        lower(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))),
                        lower(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 20)))};
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s), v[0]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s + 16), v[1]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s + 20), v[2]);
  // One bit per byte position 0-35.
  const auto bits = [&v](auto&& test) {
    return static_cast<uint64_t>(_mm_movemask_epi8(test(v[0]))) |
           (static_cast<uint64_t>(_mm_movemask_epi8(test(v[1]))) << 16) |
           (static_cast<uint64_t>(_mm_movemask_epi8(test(v[2])) >> 12) << 32);
  };
  constexpr uint64_t kDashes = (1ull << 8) | (1ull << 13) | (1ull << 18) | (1ull << 23);
  constexpr uint64_t kHex = ((1ull << 36) - 1) & ~kDashes;
  const uint64_t dash = bits([](__m128i c) { return _mm_cmpeq_epi8(c, _mm_set1_epi8('-')); });
  const uint64_t hex = bits([&in](__m128i c) { return _mm_or_si128(in(c, '0', '9'), in(c, 'a', 'f')); });
  if ((dash & kDashes) != kDashes || (hex & kHex) != kHex) return kMaidBad;
  const uint64_t zero = bits([](__m128i c) { return _mm_cmpeq_epi8(c, _mm_set1_epi8('0')); });
  return (zero & kHex) == kHex ? kMaidAllZero : kMaidOk;
}
#endif

// Walks the table built by nanp-dfa.ts: table[state * 10 + digit] is the next state or -1;
// the number is valid when the 10th digit lands on the accepting state table[length - 1].
bool NanpValid(const NanpTable& nanp, const uint8_t* nsn) {
  int32_t state = 0;
  for (int i = 0; i < 10; i++) {
    const size_t at = static_cast<size_t>(state) * 10 + (nsn[i] - '0');
    if (at >= nanp.length - 1) return false;
    state = nanp.table[at];
    if (state < 0) return false;
  }
  return state == nanp.table[nanp.length - 1];
}

}  // namespace

Normalized NormalizeEmail(const uint8_t* p, size_t len, uint8_t* value, uint8_t* digest) {
  if (len > kMaxEmail) return Rejected(kEmailInvalid);
  for (size_t i = 0; i < len; i++) value[i] = Lower(p[i]);
  // A 64-hex value is an address someone already hashed: pass it through, never hash it again.
  if (len == 64 && HexDigest(value, len, digest)) return DigestWritten();
  if (!PlausibleEmail(value, len)) return Rejected(kEmailInvalid);
  return Value(len);
}

Normalized NormalizeSha256(const uint8_t* p, size_t len, uint8_t* digest) {
  if (len == 64) {
    uint8_t s[64];
    for (size_t i = 0; i < 64; i++) s[i] = Lower(p[i]);
    if (HexDigest(s, 64, digest)) return DigestWritten();
  }
  return Rejected(kHashInvalid);
}

Normalized NormalizeMaid(const uint8_t* p, size_t len, uint8_t* value) {
  if (len != 36) return Rejected(kMaidInvalid);
#ifdef __SSE2__
  // A third of a typical file's identifiers: 36 bytes checked 16 at a time instead of one
  // byte and several branches at a time (that loop was ~half the scanner's samples).
  const MaidCheck check = CheckMaid(p, value);
  const bool bad = check == kMaidBad;
  const bool zero = check == kMaidAllZero;
#else
  bool bad = false;
  bool zero = true;
  for (size_t i = 0; i < 36 && !bad; i++) {
    const uint8_t c = Lower(p[i]);
    value[i] = c;
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      bad = c != '-';
    } else {
      bad = HexValue(c) < 0;
      if (c != '0') zero = false;
    }
  }
#endif
  if (bad) return Rejected(kMaidInvalid);
  // All zeros is what iOS/Android report when the user limited ad tracking: not a person.
  if (zero) return Rejected(kMaidZero);
  return Value(36);
}

// phone-nanp.ts fastNanp after normalize.ts's trim and "00" → "+" rewrite.
Normalized NormalizePhone(const uint8_t* p, size_t len, bool digitsOnly, bool nationalNanp, const NanpTable& nanp, uint8_t* value) {
  if (nanp.length == 0 || len > 64) return Deferred();
  uint8_t s[65];
  size_t sl = 0;
  if (len >= 2 && p[0] == '0' && p[1] == '0') {
    s[sl++] = '+';
    memcpy(s + sl, p + 2, len - 2);
    sl += len - 2;
  } else {
    memcpy(s, p, len);
    sl = len;
  }
  uint8_t digits[11];
  size_t nd = 0;
  bool plus = false;
  for (size_t i = 0; i < sl; i++) {
    const uint8_t c = s[i];
    if (c >= '0' && c <= '9') {
      if (nd == 11) return Deferred();
      digits[nd++] = c;
      continue;
    }
    if (c == '+' && i == 0) { plus = true; continue; }
    if (c == ' ' || c == '(' || c == ')' || c == '-' || c == '.') continue;
    return Deferred();
  }
  const uint8_t* nsn;
  if (nd == 11 && digits[0] == '1') nsn = digits + 1;
  else if (nd == 10 && !plus && nationalNanp) nsn = digits;
  else return Deferred();
  if ((plus && nd != 11) || (!plus && !nationalNanp) || !NanpValid(nanp, nsn)) return Deferred();
  size_t at = 0;
  if (!digitsOnly) value[at++] = '+';
  value[at++] = '1';
  memcpy(value + at, nsn, 10);
  return Value(at + 10);
}

}  // namespace hashpipe
