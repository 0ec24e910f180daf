"""Builds libbertc.so, libbertc-eval.so and libbertc-default.so with the project's Makefile (one level up) and
ships them inside the package; the Python code reaches them through ctypes, so the wheel needs no CPython
extension."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class BuildWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        lib = os.environ.get("BERTC_LIBRARY")
        if not lib:
            if not os.path.exists(os.path.join(ROOT, "Makefile")):
                raise SystemExit("bertc: build from the project's source tree (python/ beside the Makefile), or set "
                                 "BERTC_LIBRARY to a built libbertc.so (libbertc-eval.so and libbertc-default.so "
                                 "beside it)")
            jobs = str(os.cpu_count() or 1)
            subprocess.check_call(["make", "-C", ROOT, "-j" + jobs, "shared"])
            lib = os.path.join(ROOT, "build", "libbertc.so")
        src = os.path.dirname(os.path.realpath(lib))
        pkg = os.path.join(self.build_lib, "bertc")
        if os.path.isdir(pkg):  # libraries of an earlier build (another layout) must not shadow these
            for old in os.listdir(pkg):
                if old.startswith("libbertc") and ".so" in old:
                    os.remove(os.path.join(pkg, old))
        # the three libraries under their sonames: libbertc.so.0 opens libbertc-default.so.0 (the default model) from
        # its own folder, and libbertc-eval.so.0 needs libbertc.so.0
        for name in ("libbertc", "libbertc-eval", "libbertc-default"):
            dest = os.path.join(self.build_lib, "bertc", name + ".so.0")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.realpath(os.path.join(src, name + ".so")), dest)
            if shutil.which("strip"):  # the wheel needs no debug info
                subprocess.check_call(["strip", "--strip-debug", dest])


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:  # the wheel carries a native library: platform-tagged
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
