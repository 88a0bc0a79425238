# Native batch-hashing core (pipeline/native/*.cc), built from source by node-gyp at
# install. Optional: if the build fails, pipeline/native-hash.ts falls back to node:crypto.
{
  "targets": [
    {
      "target_name": "hash_many",
      "sources": ["pipeline/native/addon.cc", "pipeline/native/hash_many.cc", "pipeline/native/scan_batch.cc", "pipeline/native/scan_tokenizer.cc", "pipeline/native/ascii_normalize.cc", "pipeline/native/format_rows.cc", "pipeline/native/sort_unique.cc", "pipeline/native/aligned_buffer.cc", "pipeline/native/partition_digests.cc", "pipeline/native/heap_trim.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-O2", "-O0", "-fno-exceptions"],
      "cflags_cc!": ["-O2", "-O0", "-fno-exceptions"],
      "cflags": ["-O3"],
      "cflags_cc": ["-O3", "-std=c++17"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } }
    }
  ]
}
