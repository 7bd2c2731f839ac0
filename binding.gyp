# Secondary build, kept in step with CMakeLists.txt (CI builds both). Same sources, same libraries.
{
  "targets": [
    {
      "target_name": "kazoo_amqp",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/core').filter(f => f.endsWith('.cc')).map(f => 'native/core/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/core/payload').filter(f => f.endsWith('.cc')).map(f => 'native/core/payload/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/addon').filter(f => f.endsWith('.cc')).map(f => 'native/addon/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wno-unused-parameter", "<!@(pkg-config --cflags librabbitmq json-c uuid openssl)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["<!@(pkg-config --libs librabbitmq json-c uuid openssl)", "-lpthread"]
    }
  ]
}
