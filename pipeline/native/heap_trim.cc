// trimHeap(): gives the free pages inside malloc's heaps back to the kernel (glibc's
// malloc_trim(0), which walks every arena, the worker threads' too), and answers whether it
// could. pinMmapThreshold(bytes): fixes glibc's mmap threshold (mallopt M_MMAP_THRESHOLD), which
// also turns off its dynamic raising, and answers whether glibc took it. Elsewhere (musl, macOS)
// both do nothing and answer false. pipeline/heap-trim.ts says when hashpipe calls them.
// releaseBuffer(arrayBuffer): detaches it, which frees its memory now instead of at V8's next
// GC that finds it dead, and answers whether it could (not a WebAssembly memory, for one);
// pipeline/release-buffer.ts says when.
#include <node_api.h>

#include "napi_args.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hashpipe {

napi_value TrimHeap(napi_env env, napi_callback_info /* info */) {
#if defined(__GLIBC__)
  malloc_trim(0);
  return BooleanValue(env, true);
#else
  return BooleanValue(env, false);
#endif
}

napi_value PinMmapThreshold(napi_env env, napi_callback_info info) {
  size_t bytes = 0;
  // glibc's own ceiling for the threshold (HEAP_MAX_SIZE / 2 on 64-bit) is 32 MiB.
  if (!OnlyIntegerArg(env, info, 32.0 * 1024 * 1024, "pinMmapThreshold(bytes) needs a byte count", "bytes must be a number",
                      "bytes must be an integer from 0 to 32 MiB", &bytes)) return nullptr;
#if defined(__GLIBC__)
  return BooleanValue(env, mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) == 1);
#else
  return BooleanValue(env, false);
#endif
}

napi_value ReleaseBuffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  bool is = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is) != napi_ok || !is) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "releaseBuffer(buffer) needs an ArrayBuffer");
    return nullptr;
  }
  return BooleanValue(env, napi_detach_arraybuffer(env, argv[0]) == napi_ok);
}

}  // namespace hashpipe
