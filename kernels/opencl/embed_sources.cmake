# Writes OUT, a C file holding the OpenCL program's sources (SOURCES, a
# ;-list of files, in build order) as byte arrays, so that the binary builds
# its programs at run time without the source tree.  Run by a custom command
# in kernels/CMakeLists.txt (cmake -P), again whenever a source changes.
set(_body "/* Generated from kernels/gpu/ and kernels/opencl/ by embed_sources.cmake. */\n")
set(_names "")
set(_i 0)
foreach(_src IN LISTS SOURCES)
  file(READ "${_src}" _hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _hex "${_hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _hex "${_hex}")
  get_filename_component(_name "${_src}" NAME)
  string(APPEND _body "/* ${_name} */\nstatic const char src${_i}[] = {\n${_hex}0x00};\n")
  string(APPEND _names "src${_i}, ")
  math(EXPR _i "${_i} + 1")
endforeach()
string(APPEND _body "const char *const ln_opencl_sources[] = {${_names}};\n")
string(APPEND _body "const unsigned ln_opencl_source_count = ${_i};\n")
file(WRITE "${OUT}.tmp" "${_body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
