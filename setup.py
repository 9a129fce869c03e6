"""Build the Cython core (`native/kernels.pyx`); project metadata lives in pyproject.toml.

In place for development: `python setup.py build_ext --inplace` (what `make setup` runs).
"""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "native.kernels",
        ["native/kernels.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}, quiet=True))
