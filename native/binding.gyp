# Built by scripts/build-native.mjs, which sets SLICEWISE_TORCH_INCLUDE / SLICEWISE_TORCH_LIB /
# SLICEWISE_TORCH_LIBS / SLICEWISE_CXX11_ABI for the libtorch it found (Debian libtorch-dev or LIBTORCH=<dir>).
{
  "targets": [
    {
      "target_name": "slicewise_engine",
      "sources": ["src/addon.cc", "src/allocator.cc", "src/compute_thread.cc", "src/engine.cc", "src/loss.cc", "src/napi_convert.cc",
                  "src/sliding_window.cc", "src/unet.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node -p \"(process.env.SLICEWISE_TORCH_INCLUDE || '/usr/include /usr/include/torch/csrc/api/include').split(' ').join(' ')\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"process.env.SLICEWISE_CXX11_ABI || '1'\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-frtti", "-fexceptions", "-O3", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node -p \"process.env.SLICEWISE_TORCH_LIB || '/usr/lib/x86_64-linux-gnu'\")",
        "-Wl,-rpath,<!(node -p \"process.env.SLICEWISE_TORCH_LIB || '/usr/lib/x86_64-linux-gnu'\")",
        "<!@(node -p \"process.env.SLICEWISE_TORCH_LIBS || '-ltorch -ltorch_cpu -lc10'\")"
      ]
    }
  ]
}
