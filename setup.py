"""Build the nfstream._engine C extension.

The project metadata lives in pyproject.toml. This file only describes the one extension:
every C file under csrc/engine and csrc/bindings, compiled with the flags that pkg-config
reports for libpcap and libndpi. Set NFSTREAM_SANITIZE=1 to build with AddressSanitizer and
UndefinedBehaviorSanitizer; a Python that loads such a module usually needs
LD_PRELOAD=$(gcc -print-file-name=libasan.so).
"""

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PKG_CONFIG_MODULES = ("libpcap", "libndpi")
DEBIAN_PACKAGES = "libpcap-dev libndpi-dev pkg-config"
SANITIZER_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]


def find_sources():
    """Return the extension's C files as paths relative to this file, in a stable order."""
    sources = []
    for folder in ("csrc/engine", "csrc/bindings"):
        sources.extend(
            sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / folder).glob("*.c"))
        )
    return sources


def query_pkg_config():
    """Return the compiler and linker arguments that pkg-config gives for libpcap and libndpi.

    Raises SystemExit with the Debian packages to install when pkg-config or a library
    is missing.
    """
    hint = f"Install them first, on Debian or Ubuntu: apt-get install {DEBIAN_PACKAGES}"
    if shutil.which("pkg-config") is None:
        raise SystemExit(f"nfstream build failed: pkg-config not found. {hint}")

    command = ["pkg-config", "--cflags", "--libs", *PKG_CONFIG_MODULES]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = result.stderr.strip() or "no output"
        raise SystemExit(f"nfstream build failed: {' '.join(command)} failed ({detail}). {hint}")
    return shlex.split(result.stdout)


class PkgConfigBuildExt(build_ext):
    """build_ext that queries pkg-config for libpcap and libndpi only when compiling.

    Querying here rather than at import time lets metadata-only commands (egg_info, sdist)
    run on machines without the libraries.
    """

    def build_extensions(self):
        arguments = query_pkg_config()
        sanitize = os.environ.get("NFSTREAM_SANITIZE") == "1"
        for extension in self.extensions:
            add_pkg_config_arguments(extension, arguments)
            if sanitize:
                extension.extra_compile_args.extend(SANITIZER_FLAGS)
                extension.extra_link_args.extend(SANITIZER_FLAGS)
        super().build_extensions()


def add_pkg_config_arguments(extension, arguments):
    """Sort pkg-config output into the extension's include dirs, libraries and extra flags."""
    for argument in arguments:
        if argument.startswith("-I"):
            extension.include_dirs.append(argument[2:])
        elif argument.startswith("-L"):
            extension.library_dirs.append(argument[2:])
        elif argument.startswith("-l"):
            extension.libraries.append(argument[2:])
        elif argument.startswith("-Wl,"):
            extension.extra_link_args.append(argument)
        elif argument == "-pthread":
            extension.extra_compile_args.append(argument)
            extension.extra_link_args.append(argument)
        else:
            extension.extra_compile_args.append(argument)


engine = Extension(
    "nfstream._engine",
    sources=find_sources(),
    include_dirs=["csrc/engine"],
    depends=sorted(path.relative_to(ROOT).as_posix() for path in ROOT.glob("csrc/*/*.h")),
    # gnu11 rather than c11 because libpcap's headers use BSD types (u_int, u_char) that
    # glibc hides under strict -std=c11.
    extra_compile_args=["-std=gnu11", "-O2", "-Wall"],
)

setup(ext_modules=[engine], cmdclass={"build_ext": PkgConfigBuildExt})
