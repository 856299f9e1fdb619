# embed_source.cmake - one Metal source file, with the files it includes by
# "quoted" name inlined (recursively, each file once), as a C array for
# newLibraryWithSource: Metal's run-time compiler cannot open our headers.
#
#   cmake -DSOURCE=layernorm.metal -DOUTPUT=metal_source.c [-DTEXT_OUTPUT=x.metal] -P embed_source.cmake
#
# The text goes through file(READ ... HEX), so no character of the source
# (semicolons, backslashes, quotes) needs escaping.  TEXT_OUTPUT also writes
# the inlined text itself, for the Linux preprocessing test.

cmake_minimum_required(VERSION 3.25)

function(ln_inline path out)
  get_property(seen GLOBAL PROPERTY LN_EMBED_SEEN)
  if(path IN_LIST seen)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY LN_EMBED_SEEN "${path}")
  file(READ "${path}" text)
  get_filename_component(dir "${path}" DIRECTORY)
  string(REGEX MATCHALL "(^|\n)[ \t]*#[ \t]*include[ \t]*\"[^\"\n]+\"" includes "${text}")
  foreach(inc IN LISTS includes)
    string(REGEX REPLACE "^\n" "" inc "${inc}")
    string(REGEX REPLACE ".*\"([^\"]+)\"" "\\1" rel "${inc}")
    get_filename_component(abs "${dir}/${rel}" ABSOLUTE)
    if(NOT EXISTS "${abs}")
      message(FATAL_ERROR "${path}: included file ${rel} not found")
    endif()
    ln_inline("${abs}" body)
    string(REPLACE "${inc}" "/* ---- ${rel} ---- */\n${body}" text "${text}")
  endforeach()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

if(NOT SOURCE OR NOT OUTPUT)
  message(FATAL_ERROR "usage: cmake -DSOURCE=file.metal -DOUTPUT=out.c -P embed_source.cmake")
endif()
get_filename_component(src "${SOURCE}" ABSOLUTE)
ln_inline("${src}" text)
set(text_file "${OUTPUT}.metal")
if(TEXT_OUTPUT)
  set(text_file "${TEXT_OUTPUT}")
endif()
file(WRITE "${text_file}" "${text}")
file(READ "${text_file}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Lines of 16 bytes keep the generated file readable in a diff or an error.
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 sixteen)
string(REGEX REPLACE "(${sixteen})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "/* Generated from ${SOURCE} by kernels/metal/embed_source.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ln_metal_source[];\n"
  "extern const size_t ln_metal_source_len;\n"
  "const unsigned char ln_metal_source[] = {\n${bytes}0x00};\n"
  "const size_t ln_metal_source_len = ${n};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
if(NOT TEXT_OUTPUT)
  file(REMOVE "${text_file}")
endif()
