# Cross-compile lnbench for AArch64 with Debian's gcc-aarch64-linux-gnu and the
# arm64 multiarch packages (libmpfr-dev:arm64, libgmp-dev:arm64, ...).
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# ctest then runs every test under qemu-aarch64 through the emulator below.
# (scripts/test-aarch64 does all of this and installs what is missing.)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Headers and libraries: the cross sysroot (/usr/aarch64-linux-gnu) for libc,
# and the multiarch directory for the arm64 -dev packages.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must see only the arm64 .pc files (plus arch-independent ones),
# never the host's amd64 MPFR.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# add_test(NAME .. COMMAND <target>) runs through this, so ctest runs the
# aarch64 binaries under user-mode qemu.  -L is where the emulator finds the
# dynamic loader.  The loader and libc must come from the same glibc build:
# with the arm64 multiarch libc6:arm64 installed (libmpfr-dev:arm64 pulls it
# in) the loader of the cross sysroot (/usr/aarch64-linux-gnu, package
# libc6-arm64-cross) ends up loading the multiarch libc.so.6 from
# /lib/aarch64-linux-gnu, a different build, and every program hangs once a
# second thread has existed (measured: qemu 7.2, glibc 2.36-8cross1 vs
# 2.36-9+deb12u14).  So the prefix is / whenever the multiarch loader is
# there, and the cross sysroot only otherwise.
if(EXISTS /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1)
  set(LNBENCH_QEMU_PREFIX /)
else()
  set(LNBENCH_QEMU_PREFIX /usr/aarch64-linux-gnu)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;${LNBENCH_QEMU_PREFIX}")
