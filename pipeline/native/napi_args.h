// Argument checks shared by the addon's functions. Each returns nullptr (or false) after throwing
// a pending JS exception with a stable Node-style code, so a bad call never crashes the process.
#ifndef HASHPIPE_NAPI_ARGS_H_
#define HASHPIPE_NAPI_ARGS_H_

#include <node_api.h>
#include <stddef.h>

namespace hashpipe {

// The data of a typed array of the given type, and its length in elements.
inline void* TypedArg(napi_env env, napi_value v, napi_typedarray_type want, const char* what, size_t* length) {
  bool is = false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr) != napi_ok || type != want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return nullptr;
  }
  // A zero-length view may have no backing store; callers never dereference it then.
  static double empty;
  return data != nullptr ? data : &empty;
}

}  // namespace hashpipe

#endif  // HASHPIPE_NAPI_ARGS_H_
