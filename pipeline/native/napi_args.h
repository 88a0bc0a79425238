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

// The one argument of fn(bytes) as IntegerArg checks it; TypeError(missing) when there is none.
inline bool OnlyIntegerArg(napi_env env, napi_callback_info info, double max, const char* missing, const char* typeMessage,
                           const char* rangeMessage, size_t* value) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", missing);
    return false;
  }
  return IntegerArg(env, argv[0], max, typeMessage, rangeMessage, value);
}

// A JS boolean, or nullptr (with the engine's exception pending) if it cannot be made.
inline napi_value BooleanValue(napi_env env, bool b) {
  napi_value result;
  return napi_get_boolean(env, b, &result) == napi_ok ? result : nullptr;
}

}  // namespace hashpipe

#endif  // HASHPIPE_NAPI_ARGS_H_
