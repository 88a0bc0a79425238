// trimHeap(): gives the free pages inside malloc's heaps back to the kernel (glibc's
// malloc_trim(0), which walks every arena, the worker threads' too), and answers whether it
// could. Elsewhere (musl, macOS) it does nothing and answers false. pipeline/heap-trim.ts says
// when hashpipe calls it.
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
