// See scan_tokenizer.h.
#include "scan_tokenizer.h"

#include <string.h>

namespace hashpipe {

Scanner::Scanner(const ScanBuffers& b, const int32_t* config, const Slot* slots, int slotCount, NanpTable nanp)
    : b_(b), format_(config[kCfgFormat]), maxRecord_(static_cast<uint32_t>(config[kCfgMaxRecord])),
      flags_(config[kCfgFlags]), slots_(slots), slotCount_(slotCount), nanp_(nanp) {
  for (int i = 0; i < slotCount; i++) if (slots[i].index > maxIndex_) maxIndex_ = slots[i].index;
  // A csv delimiter other than ',' rides in the flags' second byte (0: the format's own).
  const int delim = (flags_ >> kFlagDelimiterShift) & 0xff;
  delim_ = delim != 0 ? static_cast<uint8_t>(delim) : format_ == kTsv ? '\t' : ',';
}

void Scanner::Run() {
  const uint8_t* in = b_.in;
  const size_t n = b_.n;
  int32_t* stats = b_.stats;
  size_t pos = static_cast<uint32_t>(stats[kStatPos]);
  line_ = stats[kStatLine];
  count_ = static_cast<uint32_t>(stats[kStatCount]);
  nEvents_ = 0;
  scratchUsed_ = 0;
  stats[kStatDone] = 0;
  while (pos < n) {
    // Room for the worst record: a digest slot and an event per field, and one record event.
    if (count_ + slotCount_ > b_.digestCap || nEvents_ + slotCount_ + 1 > b_.eventCap) break;
    const uint8_t* nlp = static_cast<const uint8_t*>(memchr(in + pos, '\n', n - pos));
    const size_t nl = nlp != nullptr ? static_cast<size_t>(nlp - in) : n;
    size_t end = nl;
    if (end > pos && in[end - 1] == '\r') end--;
    if (end == pos) { line_++; pos = nl + 1; continue; }  // a blank line: nothing to count
    stats[kStatRows]++;
    if (end - pos > maxRecord_) {
      Reject(pos, -1, kLineTooLong, Cell{nullptr, 0, kNone, 0});
      line_++;
      pos = nl + 1;
      continue;
    }
    if (format_ == kCsv && memchr(in + pos, '"', nl - pos) != nullptr) {
      pos = QuotedRecord(pos);
      continue;
    }
    if (format_ == kLines) {
      Normalize(pos, 0, Cell{in + pos, static_cast<uint32_t>(end - pos), kInput, static_cast<uint32_t>(pos)});
    } else {
      SplitRecord(pos, end);
    }
    line_++;
    pos = nl + 1;
  }
  if (pos >= n) {
    pos = n;
    stats[kStatDone] = 1;
  }
  hasher_.Flush();
  stats[kStatPos] = static_cast<int32_t>(pos);
  stats[kStatLine] = line_;
  stats[kStatCount] = static_cast<int32_t>(count_);
  stats[kStatEvents] = static_cast<int32_t>(nEvents_);
}

// An unquoted record: walk delimiters only as far as the highest mapped column.
void Scanner::SplitRecord(size_t pos, size_t end) {
  const uint8_t* in = b_.in;
  int field = 0;
  size_t start = pos;
  for (int s = 0; s < slotCount_; s++) {
    const Slot& slot = slots_[s];
    while (field < slot.index && start <= end) {
      const void* d = start < end ? memchr(in + start, delim_, end - start) : nullptr;
      start = d == nullptr ? end + 1 : static_cast<size_t>(static_cast<const uint8_t*>(d) - in) + 1;
      field++;
    }
    if (start > end) {
      Reject(pos, s, kFieldMissing, Cell{nullptr, 0, kNone, 0});
      continue;
    }
    const void* d = start < end ? memchr(in + start, delim_, end - start) : nullptr;
    const size_t stop = d == nullptr ? end : static_cast<size_t>(static_cast<const uint8_t*>(d) - in);
    Normalize(pos, s, Cell{in + start, static_cast<uint32_t>(stop - start), kInput, static_cast<uint32_t>(start)});
  }
}

// csv-record.ts's parseRecord on bytes (its structural characters are all ASCII, so byte and
// UTF-16 positions order alike). Quoted values are unescaped into scratch. Returns the next pos.
size_t Scanner::QuotedRecord(size_t pos) {
  const uint8_t* in = b_.in;
  const size_t n = b_.n;
  const uint8_t d = delim_;
  Cell fields[kMaxSlots];
  const int keep = maxIndex_ + 1;
  int nf = 0;
  int newlines = 0;
  bool malformed = false;
  size_t next = n;
  size_t i = pos;
  for (;;) {
    Cell f{nullptr, 0, kNone, 0};
    if (i < n && in[i] == '"') {
      const size_t at = scratchUsed_;
      size_t from = i + 1;
      size_t j = from;
      bool closed = false;
      while (j < n) {
        const uint8_t c = in[j];
        if (c == '"') {
          if (j + 1 < n && in[j + 1] == '"') {
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
        Copy(from, n);
        malformed = true;
        next = n;
        break;
      }
      f = Cell{b_.scratch + at, static_cast<uint32_t>(scratchUsed_ - at), kScratch, static_cast<uint32_t>(at)};
      if (nf < keep) fields[nf] = f;
      nf++;
      // After the closing quote only a delimiter or the end of the record may follow.
      size_t k = j;
      while (k < n) {
        const uint8_t c = in[k];
        if (c == d || c == '\n') break;
        if (c != '\r') malformed = true;
        k++;
      }
      if (k >= n) { next = n; break; }
      if (in[k] == '\n') { next = k + 1; break; }
      i = k + 1;
      continue;
    }
    size_t j = i;
    while (j < n && in[j] != d && in[j] != '\n') j++;
    size_t end = j;
    if (end > i && (j >= n || in[j] == '\n') && in[end - 1] == '\r') end--;
    f = Cell{in + i, static_cast<uint32_t>(end - i), kInput, static_cast<uint32_t>(i)};
    if (nf < keep) fields[nf] = f;
    nf++;
    if (j >= n) { next = n; break; }
    if (in[j] == '\n') { next = j + 1; break; }
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

void Scanner::Copy(size_t from, size_t to) {
  memcpy(b_.scratch + scratchUsed_, b_.in + from, to - from);
  scratchUsed_ += to - from;
}

void Scanner::Event(int kind, size_t recPos, int slot, int value, const Cell& raw) {
  int32_t* e = b_.events + nEvents_++ * kEventInts;
  e[0] = kind;
  e[1] = line_;
  e[2] = static_cast<int32_t>(recPos);
  e[3] = slot;
  e[4] = value;
  e[5] = static_cast<int32_t>(raw.off);
  e[6] = static_cast<int32_t>(raw.off + raw.len);
  e[7] = raw.src;
}

void Scanner::Reject(size_t recPos, int slot, int reason, const Cell& raw) {
  if (slot >= 0 && reason != kFieldMissing) b_.stats[kStatSeen + slots_[slot].type]++;  // a missing field is not an identifier seen
  b_.stats[kStatRejected + reason]++;
  Event(kEvReject, recPos, slot, reason, raw);
}

// The JS side finishes this cell; its digest slot is reserved so input order is kept.
void Scanner::Defer(size_t recPos, int slot, const Cell& raw) {
  b_.schemas[count_] = kHole;
  Event(kEvDefer, recPos, slot, static_cast<int>(count_), raw);
  count_++;
}

void Scanner::Valid(int slot) {
  b_.stats[kStatSeen + slots_[slot].type]++;
  b_.stats[kStatValid + slots_[slot].type]++;
  b_.schemas[count_] = static_cast<uint8_t>(slots_[slot].schema);
  count_++;
}

void Scanner::Normalize(size_t recPos, int slot, const Cell& raw) {
  for (uint32_t i = 0; i < raw.len; i++) {
    if (raw.p[i] >= 0x80) { Defer(recPos, slot, raw); return; }
  }
  const int type = slots_[slot].type;
  if (type == kEmail && (flags_ & kFlagDeferEmail) != 0) { Defer(recPos, slot, raw); return; }
  const uint8_t* p = raw.p;
  size_t len = raw.len;
  TrimAscii(&p, &len);
  if (len == 0) { b_.stats[kStatEmpty + type]++; return; }
  uint8_t value[kMaxValue];
  Normalized r;
  switch (type) {
    case kEmail: r = NormalizeEmail(p, len, value, NextDigest()); break;
    case kEmailSha:
    case kPhoneSha: r = NormalizeSha256(p, len, NextDigest()); break;
    case kPhone: r = NormalizePhone(p, len, (flags_ & kFlagPhoneDigits) != 0, (flags_ & kFlagNationalNanp) != 0, nanp_, value); break;
    default: r = NormalizeMaid(p, len, value); break;
  }
  switch (r.kind) {
    case Normalized::kValue: hasher_.Add(value, r.len, NextDigest()); Valid(slot); return;
    case Normalized::kDigestWritten: Valid(slot); return;
    case Normalized::kRejected: Reject(recPos, slot, r.reason, raw); return;
    case Normalized::kDeferred: Defer(recPos, slot, raw); return;
  }
}

}  // namespace hashpipe
