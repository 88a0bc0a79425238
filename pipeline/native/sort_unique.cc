// sort_unique: the exact dedupe of record for one partition of packed 32-byte digests.
//
// sortUnique(records: Uint8Array, count: number, keyOffset: number, out: Uint8Array): number
// writes the distinct records of records[0, count) to out in ascending byte order and returns
// how many there are. All records share bytes [0, keyOffset) (the partition prefix).
//
// The algorithm is pipeline/sort-unique.ts's, so both give identical bytes (tested): LSD radix
// sort on the 32-bit big-endian key at keyOffset in two 16-bit passes, then runs of equal keys
// ordered by a full 32-byte comparison, then duplicates dropped. Here the key and the record
// index travel together in one 64-bit word, so the passes stream through memory instead of
// chasing indexes, and the scratch arrays are kept per thread between calls: a 1 GiB input
// sorts ~70 M digests in ~1,500 calls, and fresh pages for each call cost more than the sort.
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "napi_args.h"

namespace hashpipe {

namespace {

constexpr size_t kDigest = 32;

inline uint32_t KeyAt(const uint8_t* rec, size_t keyOffset) {
  const uint8_t* k = rec + keyOffset;
  return (static_cast<uint32_t>(k[0]) << 24) | (static_cast<uint32_t>(k[1]) << 16) |
         (static_cast<uint32_t>(k[2]) << 8) | static_cast<uint32_t>(k[3]);
}

// Sorts entries (key << 32 | index) by key, stable, in two 16-bit passes through tmp.
void RadixByKey(std::vector<uint64_t>& entries, std::vector<uint64_t>& tmp, std::vector<uint32_t>& count) {
  const size_t n = entries.size();
  tmp.resize(n);
  count.assign(65536, 0);
  for (size_t i = 0; i < n; i++) count[(entries[i] >> 32) & 0xffff]++;
  for (uint32_t b = 0, sum = 0; b < 65536; b++) { const uint32_t c = count[b]; count[b] = sum; sum += c; }
  for (size_t i = 0; i < n; i++) tmp[count[(entries[i] >> 32) & 0xffff]++] = entries[i];
  count.assign(65536, 0);
  for (size_t i = 0; i < n; i++) count[tmp[i] >> 48]++;
  for (uint32_t b = 0, sum = 0; b < 65536; b++) { const uint32_t c = count[b]; count[b] = sum; sum += c; }
  for (size_t i = 0; i < n; i++) entries[count[tmp[i] >> 48]++] = tmp[i];
}

size_t SortUnique(const uint8_t* records, size_t n, size_t keyOffset, uint8_t* out) {
  thread_local std::vector<uint64_t> entries;
  thread_local std::vector<uint64_t> tmp;
  thread_local std::vector<uint32_t> count;
  entries.resize(n);
  for (size_t i = 0; i < n; i++) {
    entries[i] = (static_cast<uint64_t>(KeyAt(records + kDigest * i, keyOffset)) << 32) | static_cast<uint64_t>(i);
  }
  RadixByKey(entries, tmp, count);
  // Runs of equal keys: ordered by the whole record (insertion sort; runs are almost always one
  // record, or true duplicates, since SHA-256 output is uniform).
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    const uint64_t key = entries[start] >> 32;
    while (end < n && (entries[end] >> 32) == key) end++;
    for (size_t i = start + 1; i < end; i++) {
      const uint64_t v = entries[i];
      const uint8_t* rv = records + kDigest * static_cast<uint32_t>(v);
      size_t j = i;
      while (j > start && memcmp(records + kDigest * static_cast<uint32_t>(entries[j - 1]), rv, kDigest) > 0) {
        entries[j] = entries[j - 1];
        j--;
      }
      entries[j] = v;
    }
    start = end;
  }
  size_t unique = 0;
  const uint8_t* prev = nullptr;
  for (size_t j = 0; j < n; j++) {
    const uint8_t* rec = records + kDigest * static_cast<uint32_t>(entries[j]);
    if (prev != nullptr && memcmp(prev, rec, kDigest) == 0) continue;
    memcpy(out + kDigest * unique, rec, kDigest);
    unique++;
    prev = rec;
  }
  return unique;
}

}  // namespace

napi_value SortUniqueNapi(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  size_t recLen = 0, outLen = 0, n = 0, keyOffset = 0;
  auto* records = static_cast<const uint8_t*>(TypedArg(env, argv[0], napi_uint8_array, "records must be a Uint8Array", &recLen));
  if (records == nullptr) return nullptr;
  // Indexes ride in 32 bits of each entry.
  if (!IntegerArg(env, argv[1], 4294967295.0, "count must be a number", "count must be an integer in [0, 2^32)", &n)) return nullptr;
  if (!IntegerArg(env, argv[2], 28, "keyOffset must be a number", "keyOffset must be an integer in [0, 28]", &keyOffset)) return nullptr;
  auto* out = static_cast<uint8_t*>(TypedArg(env, argv[3], napi_uint8_array, "out must be a Uint8Array", &outLen));
  if (out == nullptr) return nullptr;
  if (recLen / kDigest < n || outLen / kDigest < n) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "records and out must each hold count * 32 bytes");
    return nullptr;
  }
  if (n > 0 && out < records + kDigest * n && records < out + kDigest * n) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "out must not overlap records");
    return nullptr;
  }
  const size_t unique = n == 0 ? 0 : SortUnique(records, n, keyOffset, out);
  napi_value result;
  if (napi_create_double(env, static_cast<double>(unique), &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace hashpipe
