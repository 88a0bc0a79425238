// scan_batch: a hash worker's hot loop for CSV, TSV and one-per-line batches, in one call.
//
// It is a port of BatchProcessor's record loop (pipeline/batch-processor.ts) and of the
// normalizers (pipeline/normalize.ts), byte for byte: records and quoted fields as csv-record.ts
// parses them, trim and lower-case as String.prototype.trim/toLowerCase do on ASCII, the email
// plausibility rules, MAID checks, and the NANP phone fast path (phone-nanp.ts) with validity
// decided by an automaton compiled from libphonenumber-js's own metadata (nanp-dfa.ts).
//
// It answers only what it can answer exactly. A cell holding a non-ASCII byte (Unicode trim and
// case rules), a phone outside the NANP fast path, or an email when canonicalization options are
// on is *deferred*: a slot is reserved in the output and an event tells the JS side where the cell
// is, so libphonenumber-js and the JS normalizers stay the only judges of those. The TS wrapper
// and test/pipeline/scan-batch.test.ts check that batches give identical results both ways.
//
// scanBatch(input: Uint8Array, config: Int32Array, dfa: Int32Array, digests: Uint8Array,
//           schemas: Uint8Array, events: Int32Array, scratch: Uint8Array, stats: Int32Array): void
// The layouts of config, stats and events are defined in pipeline/native-scan.ts (kStat*, kEv*).
// The input must be valid UTF-8 without NUL bytes (the caller checks; other batches take the JS
// path). The call stops early, with stats[kStatDone] = 0, when the next record might not fit in
// digests or events; the caller makes room and calls again from stats[kStatPos].
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "napi_args.h"
#include "sha256_pairs.h"

namespace hashpipe {
namespace {

// Keep in step with pipeline/protocol.ts (ID_TYPES, REJECT_REASONS) and native-scan.ts.
enum Format { kCsv = 0, kTsv = 1, kLines = 2 };
enum Type { kEmail = 0, kEmailSha = 1, kPhone = 2, kPhoneSha = 3, kMaid = 4, kIdfa = 5, kGaid = 6 };
constexpr int kTypeCount = 7;
enum Reason { kEmailInvalid = 0, kPhoneInvalid = 1, kMaidInvalid = 2, kMaidZero = 3, kHashInvalid = 4,
              kLineTooLong = 5, kFieldMissing = 8, kRecordMalformed = 9 };
constexpr int kReasonCount = 10;

enum Stat { kStatPos = 0, kStatLine = 1, kStatCount = 2, kStatEvents = 3, kStatRows = 4, kStatDone = 5,
            kStatSeen = 6, kStatValid = kStatSeen + kTypeCount, kStatEmpty = kStatValid + kTypeCount,
            kStatRejected = kStatEmpty + kTypeCount, kStatLength = kStatRejected + kReasonCount };
enum Config { kCfgFormat = 0, kCfgMaxRecord = 1, kCfgFlags = 2, kCfgSlots = 3, kCfgFirstSlot = 4 };
enum Flag { kFlagPhoneDigits = 1, kFlagNationalNanp = 2, kFlagDeferEmail = 4 };
// Event: kind, line, record byte offset, slot (-1: the whole record), reason or digest slot,
// raw start, raw end, raw source (0 input, 1 scratch, -1 none).
constexpr int kEventInts = 8;
enum EventKind { kEvReject = 1, kEvDefer = 2 };
enum Source { kNone = -1, kInput = 0, kScratch = 1 };
constexpr uint8_t kHole = 255;
constexpr size_t kDigest = 32;
constexpr size_t kMaxEmail = 254;
constexpr int kMaxSlots = 64;

struct Slot { int index; int type; int schema; };

struct Cell { const uint8_t* p; uint32_t len; int src; uint32_t off; };

inline bool IsSpace(uint8_t c) { return c == 32 || (c >= 9 && c <= 13); }
inline uint8_t Lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
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

#ifdef __SSE2__
enum MaidCheck { kMaidOk, kMaidBad, kMaidAllZero };

// The MAID rules of Maid() below on 36 ASCII bytes (the caller has ruled out bytes >= 0x80, so
// signed byte compares order them as ASCII): lower-cased into s, dashes at 8, 13, 18 and 23,
// hex digits elsewhere, not all zeros.
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

class Scanner {
 public:
  Scanner(const uint8_t* in, size_t n, const int32_t* config, const Slot* slots, int slotCount,
          const int32_t* dfa, size_t dfaLen, uint8_t* digests, size_t digestCap, uint8_t* schemas,
          int32_t* events, size_t eventCap, uint8_t* scratch, int32_t* stats)
      : in_(in), n_(n), format_(config[kCfgFormat]), maxRecord_(static_cast<uint32_t>(config[kCfgMaxRecord])),
        flags_(config[kCfgFlags]), slots_(slots), slotCount_(slotCount), dfa_(dfa), dfaLen_(dfaLen),
        digests_(digests), digestCap_(digestCap), schemas_(schemas), events_(events), eventCap_(eventCap),
        scratch_(scratch), stats_(stats) {
    maxIndex_ = 0;
    for (int i = 0; i < slotCount; i++) if (slots[i].index > maxIndex_) maxIndex_ = slots[i].index;
    delim_ = format_ == kTsv ? '\t' : ',';
  }

  void Run() {
    size_t pos = static_cast<uint32_t>(stats_[kStatPos]);
    line_ = stats_[kStatLine];
    count_ = static_cast<uint32_t>(stats_[kStatCount]);
    nEvents_ = 0;
    scratchUsed_ = 0;
    stats_[kStatDone] = 0;
    while (pos < n_) {
      // Room for the worst record: a digest slot and an event per field, and one record event.
      if (count_ + slotCount_ > digestCap_ || nEvents_ + slotCount_ + 1 > eventCap_) break;
      const uint8_t* nlp = static_cast<const uint8_t*>(memchr(in_ + pos, '\n', n_ - pos));
      const size_t nl = nlp != nullptr ? static_cast<size_t>(nlp - in_) : n_;
      size_t end = nl;
      if (end > pos && in_[end - 1] == '\r') end--;
      if (end == pos) { line_++; pos = nl + 1; continue; }  // a blank line: nothing to count
      stats_[kStatRows]++;
      if (end - pos > maxRecord_) {
        Reject(pos, -1, kLineTooLong, Cell{nullptr, 0, kNone, 0});
        line_++;
        pos = nl + 1;
        continue;
      }
      if (format_ == kCsv && memchr(in_ + pos, '"', nl - pos) != nullptr) {
        pos = QuotedRecord(pos);
        continue;
      }
      if (format_ == kLines) {
        Normalize(pos, 0, Cell{in_ + pos, static_cast<uint32_t>(end - pos), kInput, static_cast<uint32_t>(pos)});
      } else {
        SplitRecord(pos, end);
      }
      line_++;
      pos = nl + 1;
    }
    if (pos >= n_) {
      pos = n_;
      stats_[kStatDone] = 1;
    }
    hasher_.Flush();
    stats_[kStatPos] = static_cast<int32_t>(pos);
    stats_[kStatLine] = line_;
    stats_[kStatCount] = static_cast<int32_t>(count_);
    stats_[kStatEvents] = static_cast<int32_t>(nEvents_);
  }

 private:
  // An unquoted record: walk delimiters only as far as the highest mapped column.
  void SplitRecord(size_t pos, size_t end) {
    int field = 0;
    size_t start = pos;
    for (int s = 0; s < slotCount_; s++) {
      const Slot& slot = slots_[s];
      while (field < slot.index && start <= end) {
        const void* d = start < end ? memchr(in_ + start, delim_, end - start) : nullptr;
        start = d == nullptr ? end + 1 : static_cast<size_t>(static_cast<const uint8_t*>(d) - in_) + 1;
        field++;
      }
      if (start > end) {
        Reject(pos, s, kFieldMissing, Cell{nullptr, 0, kNone, 0});
        continue;
      }
      const void* d = start < end ? memchr(in_ + start, delim_, end - start) : nullptr;
      const size_t stop = d == nullptr ? end : static_cast<size_t>(static_cast<const uint8_t*>(d) - in_);
      Normalize(pos, s, Cell{in_ + start, static_cast<uint32_t>(stop - start), kInput, static_cast<uint32_t>(start)});
    }
  }

  // csv-record.ts's parseRecord on bytes (its structural characters are all ASCII, so byte and
  // UTF-16 positions order alike). Quoted values are unescaped into scratch. Returns the next pos.
  size_t QuotedRecord(size_t pos) {
    const uint8_t d = delim_;
    Cell fields[kMaxSlots];
    const int keep = maxIndex_ + 1;
    int nf = 0;
    int newlines = 0;
    bool malformed = false;
    size_t next = n_;
    size_t i = pos;
    for (;;) {
      Cell f{nullptr, 0, kNone, 0};
      if (i < n_ && in_[i] == '"') {
        const size_t at = scratchUsed_;
        size_t from = i + 1;
        size_t j = from;
        bool closed = false;
        while (j < n_) {
          const uint8_t c = in_[j];
          if (c == '"') {
            if (j + 1 < n_ && in_[j + 1] == '"') {
              Copy(from, j + 1);
              j += 2;
              from = j;
              continue;
            }
            Copy(from, j);
            closed = true;
            j++;
            break;
          }
          if (c == '\n') newlines++;
          j++;
        }
        if (!closed) {
          Copy(from, n_);
          malformed = true;
          next = n_;
          break;
        }
        f = Cell{scratch_ + at, static_cast<uint32_t>(scratchUsed_ - at), kScratch, static_cast<uint32_t>(at)};
        if (nf < keep) fields[nf] = f;
        nf++;
        // After the closing quote only a delimiter or the end of the record may follow.
        size_t k = j;
        while (k < n_) {
          const uint8_t c = in_[k];
          if (c == d || c == '\n') break;
          if (c != '\r') malformed = true;
          k++;
        }
        if (k >= n_) { next = n_; break; }
        if (in_[k] == '\n') { next = k + 1; break; }
        i = k + 1;
        continue;
      }
      size_t j = i;
      while (j < n_ && in_[j] != d && in_[j] != '\n') j++;
      size_t end = j;
      if (end > i && (j >= n_ || in_[j] == '\n') && in_[end - 1] == '\r') end--;
      f = Cell{in_ + i, static_cast<uint32_t>(end - i), kInput, static_cast<uint32_t>(i)};
      if (nf < keep) fields[nf] = f;
      nf++;
      if (j >= n_) { next = n_; break; }
      if (in_[j] == '\n') { next = j + 1; break; }
      i = j + 1;
    }
    if (malformed) {
      Reject(pos, -1, kRecordMalformed, Cell{nullptr, 0, kNone, 0});
    } else {
      for (int s = 0; s < slotCount_; s++) {
        if (slots_[s].index >= nf) Reject(pos, s, kFieldMissing, Cell{nullptr, 0, kNone, 0});
        else Normalize(pos, s, fields[slots_[s].index]);
      }
    }
    line_ += 1 + newlines;
    return next;
  }

  void Copy(size_t from, size_t to) {
    memcpy(scratch_ + scratchUsed_, in_ + from, to - from);
    scratchUsed_ += to - from;
  }

  void Event(int kind, size_t recPos, int slot, int value, const Cell& raw) {
    int32_t* e = events_ + nEvents_++ * kEventInts;
    e[0] = kind;
    e[1] = line_;
    e[2] = static_cast<int32_t>(recPos);
    e[3] = slot;
    e[4] = value;
    e[5] = static_cast<int32_t>(raw.off);
    e[6] = static_cast<int32_t>(raw.off + raw.len);
    e[7] = raw.src;
  }

  void Reject(size_t recPos, int slot, int reason, const Cell& raw) {
    if (slot >= 0 && reason != kFieldMissing) stats_[kStatSeen + slots_[slot].type]++;  // a missing field is not an identifier seen
    stats_[kStatRejected + reason]++;
    Event(kEvReject, recPos, slot, reason, raw);
  }

  // The JS side finishes this cell; its digest slot is reserved so input order is kept.
  void Defer(size_t recPos, int slot, const Cell& raw) {
    schemas_[count_] = kHole;
    Event(kEvDefer, recPos, slot, static_cast<int>(count_), raw);
    count_++;
  }

  void Valid(int slot) {
    stats_[kStatSeen + slots_[slot].type]++;
    stats_[kStatValid + slots_[slot].type]++;
    schemas_[count_] = static_cast<uint8_t>(slots_[slot].schema);
    count_++;
  }

  uint8_t* NextDigest() { return digests_ + kDigest * count_; }

  void Normalize(size_t recPos, int slot, const Cell& raw) {
    for (uint32_t i = 0; i < raw.len; i++) {
      if (raw.p[i] >= 0x80) { Defer(recPos, slot, raw); return; }
    }
    const int type = slots_[slot].type;
    if (type == kEmail && (flags_ & kFlagDeferEmail) != 0) { Defer(recPos, slot, raw); return; }
    const uint8_t* p = raw.p;
    size_t len = raw.len;
    while (len > 0 && IsSpace(p[0])) { p++; len--; }
    while (len > 0 && IsSpace(p[len - 1])) len--;
    if (len == 0) { stats_[kStatEmpty + type]++; return; }
    switch (type) {
      case kEmail: Email(recPos, slot, raw, p, len); return;
      case kEmailSha:
      case kPhoneSha: HashValue(recPos, slot, raw, p, len); return;
      case kPhone: Phone(recPos, slot, raw, p, len); return;
      default: Maid(recPos, slot, raw, p, len); return;
    }
  }

  void Email(size_t recPos, int slot, const Cell& raw, const uint8_t* p, size_t len) {
    if (len > kMaxEmail) { Reject(recPos, slot, kEmailInvalid, raw); return; }
    uint8_t s[kMaxEmail];
    for (size_t i = 0; i < len; i++) s[i] = Lower(p[i]);
    // A 64-hex value is an address someone already hashed: pass it through, never hash it again.
    if (len == 64 && HexDigest(s, len, NextDigest())) { Valid(slot); return; }
    if (!PlausibleEmail(s, len)) { Reject(recPos, slot, kEmailInvalid, raw); return; }
    hasher_.Add(s, len, NextDigest());
    Valid(slot);
  }

  // normalize.ts isPlausibleEmail, on ASCII: "\s or control" is every byte <= 32, and 127.
  static bool PlausibleEmail(const uint8_t* s, size_t len) {
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

  void HashValue(size_t recPos, int slot, const Cell& raw, const uint8_t* p, size_t len) {
    uint8_t s[64];
    if (len == 64) {
      for (size_t i = 0; i < 64; i++) s[i] = Lower(p[i]);
      if (HexDigest(s, 64, NextDigest())) { Valid(slot); return; }
    }
    Reject(recPos, slot, kHashInvalid, raw);
  }

  void Maid(size_t recPos, int slot, const Cell& raw, const uint8_t* p, size_t len) {
    if (len != 36) { Reject(recPos, slot, kMaidInvalid, raw); return; }
    uint8_t s[36];
#ifdef __SSE2__
    // A third of a typical file's identifiers: 36 bytes checked 16 at a time instead of one
    // byte and several branches at a time (that loop was ~half the scanner's samples).
    const MaidCheck check = CheckMaid(p, s);
    const bool bad = check == kMaidBad;
    const bool zero = check == kMaidAllZero;
#else
    bool bad = false;
    bool zero = true;
    for (size_t i = 0; i < 36 && !bad; i++) {
      const uint8_t c = Lower(p[i]);
      s[i] = c;
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        bad = c != '-';
      } else {
        bad = HexValue(c) < 0;
        if (c != '0') zero = false;
      }
    }
#endif
    if (bad) { Reject(recPos, slot, kMaidInvalid, raw); return; }
    // All zeros is what iOS/Android report when the user limited ad tracking: not a person.
    if (zero) { Reject(recPos, slot, kMaidZero, raw); return; }
    hasher_.Add(s, 36, NextDigest());
    Valid(slot);
  }

  // phone-nanp.ts fastNanp after normalize.ts's trim and "00" → "+" rewrite. Anything it is not
  // sure of is deferred to libphonenumber-js, never rejected here.
  void Phone(size_t recPos, int slot, const Cell& raw, const uint8_t* p, size_t len) {
    if (dfaLen_ == 0 || len > 64) { Defer(recPos, slot, raw); return; }
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
        if (nd == 11) { Defer(recPos, slot, raw); return; }
        digits[nd++] = c;
        continue;
      }
      if (c == '+' && i == 0) { plus = true; continue; }
      if (c == ' ' || c == '(' || c == ')' || c == '-' || c == '.') continue;
      Defer(recPos, slot, raw);
      return;
    }
    const bool national = (flags_ & kFlagNationalNanp) != 0;
    const uint8_t* nsn;
    if (nd == 11 && digits[0] == '1') nsn = digits + 1;
    else if (nd == 10 && !plus && national) nsn = digits;
    else { Defer(recPos, slot, raw); return; }
    if ((plus && nd != 11) || (!plus && !national) || !NanpValid(nsn)) { Defer(recPos, slot, raw); return; }
    uint8_t e164[12] = {'+', '1'};
    memcpy(e164 + 2, nsn, 10);
    if ((flags_ & kFlagPhoneDigits) != 0) hasher_.Add(e164 + 1, 11, NextDigest());
    else hasher_.Add(e164, 12, NextDigest());
    Valid(slot);
  }

  // Walks the table built by nanp-dfa.ts: table[state * 10 + digit] is the next state or -1;
  // the number is valid when the 10th digit lands on the accepting state table[length - 1].
  bool NanpValid(const uint8_t* nsn) const {
    int32_t state = 0;
    for (int i = 0; i < 10; i++) {
      const size_t at = static_cast<size_t>(state) * 10 + (nsn[i] - '0');
      if (at >= dfaLen_ - 1) return false;
      state = dfa_[at];
      if (state < 0) return false;
    }
    return state == dfa_[dfaLen_ - 1];
  }

  const uint8_t* in_;
  size_t n_;
  int format_;
  uint32_t maxRecord_;
  int flags_;
  const Slot* slots_;
  int slotCount_;
  int maxIndex_;
  uint8_t delim_;
  const int32_t* dfa_;
  size_t dfaLen_;
  uint8_t* digests_;
  size_t digestCap_;
  uint8_t* schemas_;
  int32_t* events_;
  size_t eventCap_;
  uint8_t* scratch_;
  int32_t* stats_;
  int32_t line_ = 0;
  uint32_t count_ = 0;
  size_t nEvents_ = 0;
  size_t scratchUsed_ = 0;
  // Digests may be written a message late (in pairs): flushed before Run() returns.
  PairHasher hasher_;
};

}  // namespace

napi_value ScanBatch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  size_t inLen = 0, cfgLen = 0, dfaLen = 0, digLen = 0, schLen = 0, evLen = 0, scrLen = 0, statLen = 0;
  auto* in = static_cast<const uint8_t*>(TypedArg(env, argv[0], napi_uint8_array, "input must be a Uint8Array", &inLen));
  if (in == nullptr) return nullptr;
  auto* cfg = static_cast<const int32_t*>(TypedArg(env, argv[1], napi_int32_array, "config must be an Int32Array", &cfgLen));
  if (cfg == nullptr) return nullptr;
  auto* dfa = static_cast<const int32_t*>(TypedArg(env, argv[2], napi_int32_array, "dfa must be an Int32Array", &dfaLen));
  if (dfa == nullptr) return nullptr;
  auto* dig = static_cast<uint8_t*>(TypedArg(env, argv[3], napi_uint8_array, "digests must be a Uint8Array", &digLen));
  if (dig == nullptr) return nullptr;
  auto* sch = static_cast<uint8_t*>(TypedArg(env, argv[4], napi_uint8_array, "schemas must be a Uint8Array", &schLen));
  if (sch == nullptr) return nullptr;
  auto* ev = static_cast<int32_t*>(TypedArg(env, argv[5], napi_int32_array, "events must be an Int32Array", &evLen));
  if (ev == nullptr) return nullptr;
  auto* scr = static_cast<uint8_t*>(TypedArg(env, argv[6], napi_uint8_array, "scratch must be a Uint8Array", &scrLen));
  if (scr == nullptr) return nullptr;
  auto* stats = static_cast<int32_t*>(TypedArg(env, argv[7], napi_int32_array, "stats must be an Int32Array", &statLen));
  if (stats == nullptr) return nullptr;

  // Every bound is checked before anything is written.
  if (cfgLen < kCfgFirstSlot || cfg[kCfgSlots] < 1 || cfg[kCfgSlots] > kMaxSlots ||
      cfgLen < static_cast<size_t>(kCfgFirstSlot + 3 * cfg[kCfgSlots]) ||
      cfg[kCfgFormat] < kCsv || cfg[kCfgFormat] > kLines || cfg[kCfgMaxRecord] < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "config is malformed");
    return nullptr;
  }
  Slot slots[kMaxSlots];
  const int slotCount = cfg[kCfgSlots];
  for (int s = 0; s < slotCount; s++) {
    const int32_t* c = cfg + kCfgFirstSlot + 3 * s;
    if (c[0] < 0 || c[0] >= kMaxSlots || c[1] < 0 || c[1] >= kTypeCount || c[2] < 0 || c[2] >= kHole ||
        (s > 0 && c[0] <= slots[s - 1].index)) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "config slots must be ascending field indexes below 64 with known types");
      return nullptr;
    }
    slots[s] = Slot{c[0], c[1], c[2]};
  }
  if (cfg[kCfgFormat] == kLines && (slotCount != 1 || slots[0].index != 0)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a lines batch has exactly one slot, field 0");
    return nullptr;
  }
  if (statLen < kStatLength || stats[kStatPos] < 0 || static_cast<size_t>(stats[kStatPos]) > inLen ||
      stats[kStatCount] < 0 || inLen > 0x7fffffff) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "stats is malformed");
    return nullptr;
  }
  if (schLen < static_cast<size_t>(stats[kStatCount]) || digLen / kDigest < schLen || scrLen < inLen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "digests must hold 32 bytes per schema slot, scratch the input's length");
    return nullptr;
  }
  Scanner scanner(in, inLen, cfg, slots, slotCount, dfa, dfaLen, dig, schLen, sch, ev, evLen / kEventInts, scr, stats);
  scanner.Run();
  return nullptr;
}

}  // namespace hashpipe
