// The record loop of a scanBatch call: a port of pipeline/record-loop.ts on bytes. Records and
// quoted fields are cut as csv-record.ts parses them, cells go to the ASCII normalizers
// (ascii_normalize.h), and the outcome lands in the digest slots, the counts and the events the
// TypeScript side reads (scan_layout.h).
//
// A cell holding a non-ASCII byte (Unicode trim and case rules), a phone off the NANP fast path,
// or an email when canonicalization options are on is *deferred*: a slot is reserved in the
// output and an event tells the JS side where the cell is, so libphonenumber-js and the JS
// normalizers stay the only judges of those.
//
// Line numbers are those of record-loop.ts: physical lines from the start of the batch (0),
// every newline counted, those inside quoted fields included.
#ifndef HASHPIPE_SCAN_TOKENIZER_H_
#define HASHPIPE_SCAN_TOKENIZER_H_

#include <stddef.h>
#include <stdint.h>

#include "ascii_normalize.h"
#include "scan_layout.h"
#include "sha256_pairs.h"

namespace hashpipe {

struct Slot { int index; int type; int schema; };

// Buffers of one call, bounds already checked by the binding.
struct ScanBuffers {
  const uint8_t* in; size_t n;
  uint8_t* digests; uint8_t* schemas; size_t digestCap;
  int32_t* events; size_t eventCap;
  uint8_t* scratch;
  int32_t* stats;
};

class Scanner {
 public:
  Scanner(const ScanBuffers& b, const int32_t* config, const Slot* slots, int slotCount, NanpTable nanp);
  // From stats[kStatPos] to the end of the input, or until the next record might not fit in
  // digests or events (stats[kStatDone] stays 0 then: the caller makes room and calls again).
  void Run();

 private:
  struct Cell { const uint8_t* p; uint32_t len; int src; uint32_t off; };

  void SplitRecord(size_t pos, size_t end);
  size_t QuotedRecord(size_t pos);
  void Copy(size_t from, size_t to);
  void Event(int kind, size_t recPos, int slot, int value, const Cell& raw);
  void Reject(size_t recPos, int slot, int reason, const Cell& raw);
  void Defer(size_t recPos, int slot, const Cell& raw);
  void Valid(int slot);
  void Normalize(size_t recPos, int slot, const Cell& raw);
  uint8_t* NextDigest() { return b_.digests + kDigest * count_; }

  const ScanBuffers b_;
  int format_;
  uint32_t maxRecord_;
  int flags_;
  const Slot* slots_;
  int slotCount_;
  int maxIndex_ = 0;
  uint8_t delim_;
  NanpTable nanp_;
  int32_t line_ = 0;
  uint32_t count_ = 0;
  size_t nEvents_ = 0;
  size_t scratchUsed_ = 0;
  // Digests may be written a message late (in pairs): flushed before Run() returns.
  PairHasher hasher_;
};

}  // namespace hashpipe

#endif  // HASHPIPE_SCAN_TOKENIZER_H_
