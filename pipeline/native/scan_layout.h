// The layouts scanBatch and partitionDigests share with the TypeScript side: identifier type and
// reject reason codes (pipeline/protocol.ts order), the config, stats and event arrays, the digest
// size and the hole marker. addon.cc exports every value here as the addon's `layout`, and
// pipeline/native-hash.ts refuses the addon when one differs from pipeline/native-layout.ts, so
// a stale build is reported inactive instead of giving wrong results.
#ifndef HASHPIPE_SCAN_LAYOUT_H_
#define HASHPIPE_SCAN_LAYOUT_H_

#include <stddef.h>
#include <stdint.h>

namespace hashpipe {

enum Format { kCsv = 0, kTsv = 1, kLines = 2 };
enum Type { kEmail = 0, kEmailSha = 1, kPhone = 2, kPhoneSha = 3, kMaid = 4, kIdfa = 5, kGaid = 6 };
constexpr int kTypeCount = 7;
enum Reason { kEmailInvalid = 0, kPhoneInvalid = 1, kMaidInvalid = 2, kMaidZero = 3, kHashInvalid = 4,
              kLineTooLong = 5, kInvalidUtf8 = 6, kNulByte = 7, kFieldMissing = 8, kRecordMalformed = 9 };
constexpr int kReasonCount = 10;
constexpr int kSchemaCount = 4;

// stats: in/out state of one call, then counts the call adds to.
enum Stat { kStatPos = 0, kStatLine = 1, kStatCount = 2, kStatEvents = 3, kStatRows = 4, kStatDone = 5,
            kStatSeen = 6, kStatValid = kStatSeen + kTypeCount, kStatEmpty = kStatValid + kTypeCount,
            kStatRejected = kStatEmpty + kTypeCount, kStatLength = kStatRejected + kReasonCount };
// config: format, max record bytes, flags, slot count, then per slot: field index, type, schema.
enum Config { kCfgFormat = 0, kCfgMaxRecord = 1, kCfgFlags = 2, kCfgSlots = 3, kCfgFirstSlot = 4 };
constexpr int kCfgSlotInts = 3;
enum Flag { kFlagPhoneDigits = 1, kFlagNationalNanp = 2, kFlagDeferEmail = 4 };
// flags bits 8-15: the csv delimiter byte, 0 for the format's own (',' or tab).
constexpr int kFlagDelimiterShift = 8;
// Event: kind, line, record byte offset, slot (-1: the whole record), reason or digest slot,
// raw start, raw end, raw source.
constexpr int kEventInts = 8;
enum EventKind { kEvReject = 1, kEvDefer = 2 };
enum Source { kNone = -1, kInput = 0, kScratch = 1 };

constexpr uint8_t kHole = 255;
constexpr size_t kDigest = 32;
constexpr size_t kPartitions = kSchemaCount * 256;
constexpr int kMaxSlots = 64;

}  // namespace hashpipe

#endif  // HASHPIPE_SCAN_LAYOUT_H_
