// The normalizers of pipeline/normalize.ts, on ASCII cells, byte for byte: trim and lower-case as
// String.prototype.trim/toLowerCase do on ASCII, the email plausibility rules, 64-hex digests,
// MAID checks, and the NANP phone fast path (phone-nanp.ts) with validity decided by an automaton
// compiled from libphonenumber-js's own metadata (nanp-dfa.ts).
//
// Each answers only what it can answer exactly: a phone off the fast path is *deferred* to the
// JavaScript normalizers, never rejected here. Cells holding a byte >= 0x80 never reach them.
#ifndef HASHPIPE_ASCII_NORMALIZE_H_
#define HASHPIPE_ASCII_NORMALIZE_H_

#include <stddef.h>
#include <stdint.h>

namespace hashpipe {

constexpr size_t kMaxEmail = 254;
// Room every normalizer may write its value into.
constexpr size_t kMaxValue = kMaxEmail;

inline bool IsSpace(uint8_t c) { return c == 32 || (c >= 9 && c <= 13); }
inline uint8_t Lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Strips ASCII whitespace from both ends of [*p, *p + *len).
inline void TrimAscii(const uint8_t** p, size_t* len) {
  while (*len > 0 && IsSpace((*p)[0])) { (*p)++; (*len)--; }
  while (*len > 0 && IsSpace((*p)[*len - 1])) (*len)--;
}

// What a normalizer made of a trimmed, non-empty cell: a value to hash (its `len` bytes are in
// the caller's value buffer), a digest already written (the cell was a 64-hex digest), a reject
// with its reason code, or a cell only the JavaScript side may judge.
struct Normalized {
  enum Kind : uint8_t { kValue, kDigestWritten, kRejected, kDeferred } kind;
  uint8_t reason;
  uint32_t len;
};

struct NanpTable { const int32_t* table; size_t length; };

Normalized NormalizeEmail(const uint8_t* p, size_t len, uint8_t* value, uint8_t* digest);
Normalized NormalizeSha256(const uint8_t* p, size_t len, uint8_t* digest);
Normalized NormalizeMaid(const uint8_t* p, size_t len, uint8_t* value);
// `digitsOnly`: hash "1NXXNXXXXXX" instead of "+1NXXNXXXXXX"; `nationalNanp`: ten digits without
// a country code are +1 numbers (the default country is a NANP one).
Normalized NormalizePhone(const uint8_t* p, size_t len, bool digitsOnly, bool nationalNanp, const NanpTable& nanp, uint8_t* value);

}  // namespace hashpipe

#endif  // HASHPIPE_ASCII_NORMALIZE_H_
