// Argument checks shared by the addon's functions. Each returns nullptr (or false) after throwing
// a pending JS exception with a stable Node-style code, so a bad call never crashes the process.
#ifndef HASHPIPE_NAPI_ARGS_H_
#define HASHPIPE_NAPI_ARGS_H_

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

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

// A number argument that must be an integer in [0, max]: TypeError(typeMessage) when it is not a
// number, RangeError(rangeMessage) when it is out of range or fractional (NaN included).
inline bool IntegerArg(napi_env env, napi_value v, double max, const char* typeMessage, const char* rangeMessage, size_t* value) {
  napi_valuetype vt;
  double d = 0;
  if (napi_typeof(env, v, &vt) != napi_ok || vt != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", typeMessage);
    return false;
  }
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", rangeMessage);
    return false;
  }
  *value = static_cast<size_t>(d);
  return true;
}

}  // namespace hashpipe

#endif  // HASHPIPE_NAPI_ARGS_H_
