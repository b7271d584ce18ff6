{
  "targets": [
    {
      "target_name": "nvmu_native",
      "sources": [
        "native/addon.cc",
        "native/fd.cc",
        "native/mmap.cc",
        "native/eventfd.cc",
        "native/socket.cc",
        "native/poll.cc",
        "native/recv.cc",
        "native/malloc.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GNU_SOURCE"
      ],
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    }
  ]
}
