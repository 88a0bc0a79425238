// alignedBuffer(bytes): a Buffer whose memory starts on a 4096-byte boundary, for O_DIRECT writes
// (adapters/atomic-file.ts). Linux refuses a direct write from memory that is not aligned to the
// device's logical block, and JavaScript cannot ask for alignment nor see an address: only the
// allocation lives here. The memory is freed when the Buffer is collected.
#include <node_api.h>
#include <stdlib.h>

#include "napi_args.h"

namespace {

constexpr size_t kAlignment = 4096;
// Big enough for any write block hashpipe uses, small enough that a bad call cannot ask for
// gigabytes by mistake.
constexpr double kMaxBytes = 256.0 * 1024 * 1024;

void FreeAligned(napi_env /* env */, void* data, void* /* hint */) { free(data); }

}  // namespace

namespace hashpipe {

napi_value AlignedBuffer(napi_env env, napi_callback_info info) {
  size_t bytes = 0;
  if (!OnlyIntegerArg(env, info, kMaxBytes, "alignedBuffer(bytes) needs a byte count", "bytes must be a number",
                      "bytes must be an integer multiple of 4096 from 4096 to 256 MiB", &bytes)) return nullptr;
  if (bytes == 0 || bytes % kAlignment != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "bytes must be an integer multiple of 4096 from 4096 to 256 MiB");
    return nullptr;
  }
  void* data = nullptr;
  if (posix_memalign(&data, kAlignment, bytes) != 0) {
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "alignedBuffer: out of memory");
    return nullptr;
  }
  napi_value buffer;
  // Runtimes built with V8's sandbox refuse external buffers: say so, callers fall back.
  if (napi_create_external_buffer(env, bytes, data, FreeAligned, nullptr, &buffer) != napi_ok) {
    free(data);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
      napi_throw_error(env, "ERR_EXTERNAL_BUFFER", "alignedBuffer: this runtime does not allow external buffers");
    }
    return nullptr;
  }
  return buffer;
}

}  // namespace hashpipe
