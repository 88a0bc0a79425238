// The addon's entry: its functions, its `layout` (scan_layout.h, every value by name, so the
// loader in pipeline/native-hash.ts can refuse a build whose layout is not the one the
// TypeScript side reads), and `cpu` (the features in use).
//
// Plain Node-API C (no node-addon-api dependency). NAPI_MODULE_INIT makes the module
// context-aware: it loads in worker_threads as well as the main thread. No global state beyond
// the CPU feature check, made once.
#include <node_api.h>

#include "scan_layout.h"
#include "sha256_pairs.h"

namespace hashpipe {
napi_value HashMany(napi_env env, napi_callback_info info);  // hash_many.cc
napi_value ScanBatch(napi_env env, napi_callback_info info);  // scan_batch.cc
napi_value FormatRows(napi_env env, napi_callback_info info);  // format_rows.cc
napi_value SortUniqueNapi(napi_env env, napi_callback_info info);  // sort_unique.cc
napi_value AlignedBuffer(napi_env env, napi_callback_info info);  // aligned_buffer.cc
napi_value PartitionDigests(napi_env env, napi_callback_info info);  // partition_digests.cc
napi_value TrimHeap(napi_env env, napi_callback_info info);  // heap_trim.cc
napi_value PinMmapThreshold(napi_env env, napi_callback_info info);  // heap_trim.cc
napi_value ReleaseBuffer(napi_env env, napi_callback_info info);  // heap_trim.cc

namespace {

struct Entry { const char* name; double value; };

// Names are pipeline/native-layout.ts's keys.
const Entry kLayout[] = {
  {"digest_bytes", kDigest}, {"partitions", kPartitions}, {"hole", kHole}, {"max_slots", kMaxSlots},
  {"schema_count", kSchemaCount}, {"type_count", kTypeCount}, {"reason_count", kReasonCount},
  {"type_email", kEmail}, {"type_email_sha256", kEmailSha}, {"type_phone", kPhone}, {"type_phone_sha256", kPhoneSha},
  {"type_maid", kMaid}, {"type_idfa", kIdfa}, {"type_gaid", kGaid},
  {"reason_email_invalid", kEmailInvalid}, {"reason_phone_invalid", kPhoneInvalid}, {"reason_maid_invalid", kMaidInvalid},
  {"reason_maid_zero", kMaidZero}, {"reason_hash_invalid", kHashInvalid}, {"reason_line_too_long", kLineTooLong},
  {"reason_invalid_utf8", kInvalidUtf8}, {"reason_nul_byte", kNulByte}, {"reason_field_missing", kFieldMissing},
  {"reason_record_malformed", kRecordMalformed},
  {"format_csv", kCsv}, {"format_tsv", kTsv}, {"format_lines", kLines},
  {"stat_pos", kStatPos}, {"stat_line", kStatLine}, {"stat_count", kStatCount}, {"stat_events", kStatEvents},
  {"stat_rows", kStatRows}, {"stat_done", kStatDone}, {"stat_seen", kStatSeen}, {"stat_valid", kStatValid},
  {"stat_empty", kStatEmpty}, {"stat_rejected", kStatRejected}, {"stat_length", kStatLength},
  {"config_format", kCfgFormat}, {"config_max_record", kCfgMaxRecord}, {"config_flags", kCfgFlags},
  {"config_slots", kCfgSlots}, {"config_first_slot", kCfgFirstSlot}, {"config_slot_ints", kCfgSlotInts},
  {"flag_phone_digits", kFlagPhoneDigits}, {"flag_national_nanp", kFlagNationalNanp}, {"flag_defer_email", kFlagDeferEmail},
  {"flag_delimiter_shift", kFlagDelimiterShift},
  {"event_ints", kEventInts}, {"event_reject", kEvReject}, {"event_defer", kEvDefer},
  {"source_none", kNone}, {"source_input", kInput}, {"source_scratch", kScratch},
};

bool SetFunction(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value value;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value) == napi_ok &&
         napi_set_named_property(env, exports, name, value) == napi_ok;
}

bool SetLayout(napi_env env, napi_value exports) {
  napi_value layout;
  if (napi_create_object(env, &layout) != napi_ok) return false;
  for (const Entry& e : kLayout) {
    napi_value v;
    if (napi_create_double(env, e.value, &v) != napi_ok || napi_set_named_property(env, layout, e.name, v) != napi_ok) return false;
  }
  return napi_object_freeze(env, layout) == napi_ok && napi_set_named_property(env, exports, "layout", layout) == napi_ok;
}

bool SetCpu(napi_env env, napi_value exports) {
#ifdef HASHPIPE_SHA_NI
  const bool shaNi = sha_ni::Available();
#else
  const bool shaNi = false;
#endif
  napi_value cpu, v;
  return napi_create_object(env, &cpu) == napi_ok && napi_get_boolean(env, shaNi, &v) == napi_ok &&
         napi_set_named_property(env, cpu, "sha_ni", v) == napi_ok && napi_object_freeze(env, cpu) == napi_ok &&
         napi_set_named_property(env, exports, "cpu", cpu) == napi_ok;
}

}  // namespace
}  // namespace hashpipe

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  using namespace hashpipe;
  if (!SetFunction(env, exports, "hashMany", HashMany) || !SetFunction(env, exports, "scanBatch", ScanBatch) ||
      !SetFunction(env, exports, "formatRows", FormatRows) || !SetFunction(env, exports, "sortUnique", SortUniqueNapi) ||
      !SetFunction(env, exports, "alignedBuffer", AlignedBuffer) || !SetFunction(env, exports, "partitionDigests", PartitionDigests) ||
      !SetFunction(env, exports, "trimHeap", TrimHeap) || !SetFunction(env, exports, "pinMmapThreshold", PinMmapThreshold) ||
      !SetFunction(env, exports, "releaseBuffer", ReleaseBuffer) ||
      !SetLayout(env, exports) || !SetCpu(env, exports)) return nullptr;
  return exports;
}
