// scanBatch: a hash worker's hot loop for CSV, TSV and one-per-line batches, in one call. This
// file is its Node-API binding: the arguments are checked here, every bound before anything is
// written; the record loop is scan_tokenizer.cc, the cell rules ascii_normalize.cc.
//
// scanBatch(input: Uint8Array, config: Int32Array, dfa: Int32Array, digests: Uint8Array,
//           schemas: Uint8Array, events: Int32Array, scratch: Uint8Array, stats: Int32Array): void
// The layouts of config, stats and events are scan_layout.h's (checked against
// pipeline/native-layout.ts when the addon loads). The input must be valid UTF-8 without NUL
// bytes (the caller checks; other batches take the JS path). The call stops early, with
// stats[kStatDone] = 0, when the next record might not fit in digests or events; the caller
// makes room and calls again from stats[kStatPos]. test/pipeline/scan-batch.test.ts checks
// that batches give identical results through the JavaScript record loop.
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "napi_args.h"
#include "scan_layout.h"
#include "scan_tokenizer.h"

namespace hashpipe {

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

  if (cfgLen < kCfgFirstSlot || cfg[kCfgSlots] < 1 || cfg[kCfgSlots] > kMaxSlots ||
      cfgLen < static_cast<size_t>(kCfgFirstSlot + kCfgSlotInts * cfg[kCfgSlots]) ||
      cfg[kCfgFormat] < kCsv || cfg[kCfgFormat] > kLines || cfg[kCfgMaxRecord] < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "config is malformed");
    return nullptr;
  }
  Slot slots[kMaxSlots];
  const int slotCount = cfg[kCfgSlots];
  for (int s = 0; s < slotCount; s++) {
    const int32_t* c = cfg + kCfgFirstSlot + kCfgSlotInts * s;
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
  const ScanBuffers buffers{in, inLen, dig, sch, schLen, ev, evLen / kEventInts, scr, stats};
  Scanner scanner(buffers, cfg, slots, slotCount, NanpTable{dfa, dfaLen});
  scanner.Run();
  return nullptr;
}

}  // namespace hashpipe
