// trimHeap(): gives the free pages inside malloc's heaps back to the kernel (glibc's
// malloc_trim(0), which walks every arena, the worker threads' too), and answers whether it
// could. A long dedupe run frees big buffers between long-lived small ones (each spill's index),
// so glibc's heaps keep their high-water pages: on a billion identifiers peak RSS grew by about
// 0.6 MB a spill. Elsewhere (musl, macOS) it does nothing and answers false.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hashpipe {

napi_value TrimHeap(napi_env env, napi_callback_info /* info */) {
#if defined(__GLIBC__)
  malloc_trim(0);
  const bool trimmed = true;
#else
  const bool trimmed = false;
#endif
  napi_value result;
  if (napi_get_boolean(env, trimmed, &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace hashpipe
