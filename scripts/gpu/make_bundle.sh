#!/usr/bin/env bash
# Packs `stablepose` and `stablepose_tests`, built here, for a CUDA machine that has the torch wheel (2.11,
# cu130) but none of the Debian packages the project links (docs/gpu.md, "A machine without the packages").
#
#   scripts/gpu/make_bundle.sh [OUT_DIR]        default OUT_DIR: .gpu (ignored by git)
#
# Writes OUT_DIR/bundle.tar.xz: the two programs relinked against a static OpenCV 4.6.0 (core, imgproc,
# imgcodecs with their own libpng, libjpeg-turbo and zlib; built once from the opencv-python-headless 4.6.0.66
# source on PyPI, the same OpenCV version as Debian 12's headers the objects were compiled with), stripped,
# with lib/: the ICU 72, spdlog and fmt shared libraries. What is left for the target to provide: glibc >= 2.36,
# libstdc++, zlib and the torch wheel's libraries (scripts/gpu/env.sh finds them). Also OUT_DIR/wheels: the
# pure-Python diffusers wheel the benchmark peers need, for a Python 3.12 with transformers but no diffusers.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-$root/.gpu}")
build=${STABLEPOSE_BUILD_DIR:-$root/build}
opencv=$build/opencv-static
stage=$build/gpu-bundle
jobs=$(nproc)

# OpenCV's build options. Runtime SIMD dispatch stays on (OpenCV's default, and Debian's): without it the HSV
# conversion of the colour augmentation differs from Debian's build by one level on some pixels.
off=(IPP TBB OPENMP ITT OPENCL VA VA_INTEL GTK QT FFMPEG GSTREAMER V4L 1394 TIFF WEBP OPENJPEG JASPER OPENEXR
     GDAL GDCM IMGCODEC_HDR IMGCODEC_SUNRASTER IMGCODEC_PFM LAPACK EIGEN PROTOBUF ADE CAROTENE QUIRC VTK OPENVX CUDA)
opencv_flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_LIST=core,imgproc,imgcodecs -DBUILD_SHARED_LIBS=OFF
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DWITH_PNG=ON -DBUILD_PNG=ON -DWITH_JPEG=ON -DBUILD_JPEG=ON
    -DENABLE_LIBJPEG_TURBO_SIMD=OFF -DBUILD_ZLIB=ON -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF
    -DBUILD_opencv_apps=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_python2=OFF -DCV_TRACE=OFF)
for o in "${off[@]}"; do opencv_flags+=("-DWITH_$o=OFF"); done
stamp=$(printf '%s\n' "${opencv_flags[@]}" | sha256sum | cut -c1-16)
if [[ ! -f $opencv/install/lib/libopencv_core.a || $(cat "$opencv/install/.options" 2>/dev/null) != "$stamp" ]]; then
    echo "== static OpenCV 4.6.0 (core, imgproc, imgcodecs) into $opencv"
    mkdir -p "$opencv"
    rm -rf "$opencv/build" "$opencv/install"
    url="https://files.pythonhosted.org/packages/fe/5d/f99eb2182c6f7bf9647babe6f86f5e397f6be07a2035bbdf272e7cb16cd4/opencv-python-headless-4.6.0.66.tar.gz"
    [[ -f $opencv/src.tar.gz ]] || curl -fsSL -o "$opencv/src.tar.gz" "$url"
    echo "d5291d7e10aa2c19cab6fd86f0d61af8617290ecd2d7ffcb051e446868d04cc5  $opencv/src.tar.gz" | sha256sum -c -
    tar -xzf "$opencv/src.tar.gz" -C "$opencv" opencv-python-headless-4.6.0.66/opencv
    cmake -S "$opencv/opencv-python-headless-4.6.0.66/opencv" -B "$opencv/build" -G Ninja \
        -DCMAKE_INSTALL_PREFIX="$opencv/install" "${opencv_flags[@]}" >"$opencv/cmake.log"
    cmake --build "$opencv/build" --target install -j "$jobs" >"$opencv/build.log"
    echo "$stamp" >"$opencv/install/.options"
fi

echo "== building stablepose and stablepose_tests in $build"
cmake --build "$build" --target stablepose stablepose_tests -j "$jobs"

lib=$opencv/install/lib
static_opencv="$lib/libopencv_imgcodecs.a $lib/libopencv_imgproc.a $lib/libopencv_core.a"
static_opencv+=" $lib/opencv4/3rdparty/liblibpng.a $lib/opencv4/3rdparty/liblibjpeg-turbo.a"
static_opencv+=" $lib/opencv4/3rdparty/libzlib.a -ldl -lpthread"
rm -rf "$stage" && mkdir -p "$stage/lib"
for target in stablepose tests/stablepose_tests; do
    name=$(basename "$target")
    # The link command ninja used, with Debian's OpenCV shared libraries swapped for the static ones.
    cmd=$(cd "$build" && ninja -t commands "$target" | tail -1)
    cmd=${cmd//\/usr\/lib\/x86_64-linux-gnu\/libopencv_imgcodecs.so.4.6.0/$static_opencv}
    cmd=${cmd//\/usr\/lib\/x86_64-linux-gnu\/libopencv_imgproc.so.4.6.0/}
    cmd=${cmd//\/usr\/lib\/x86_64-linux-gnu\/libopencv_core.so.4.6.0/}
    cmd=${cmd//-o $target /-o $stage/$name }
    [[ $cmd == *"-o $stage/$name "* ]] || { echo "could not rewrite the link command of $target" >&2; exit 1; }
    echo "== relinking $name"
    (cd "$build" && eval "$cmd")
    strip "$stage/$name"
    if ldd "$stage/$name" | grep -q libopencv; then echo "$name still links a shared OpenCV" >&2; exit 1; fi
done
for so in libicuuc.so.72 libicui18n.so.72 libicudata.so.72 libspdlog.so.1.10 libfmt.so.9; do
    cp -L "/usr/lib/x86_64-linux-gnu/$so" "$stage/lib/"
done
if [[ -d $build/golden ]]; then  # the reference files the data tests read (made by the test suite's fixtures)
    echo "== the bundled stablepose_tests: augmentation against albumentations (OpenCV's colour conversions)"
    libs=$stage/lib:$("$root/.venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')/lib
    for d in "$root"/.venv/lib/python3*/site-packages/nvidia/*/lib; do libs+=:$d; done
    if ! (cd "$build" && LD_LIBRARY_PATH=$libs "$stage/stablepose_tests" --gtest_filter='Transform.*' | tail -3); then
        echo "the bundled stablepose_tests fail Transform.* (see above)" >&2; exit 1
    fi
fi
echo "== what the target must still provide:"
LD_LIBRARY_PATH=$stage/lib ldd "$stage/stablepose" | awk '/=>/ {print $1, $3}' | grep -v -e "$stage" -e torch/lib -e nvidia

mkdir -p "$out/wheels"
tar -C "$stage" -cf - stablepose stablepose_tests lib | xz -6 -T0 >"$out/bundle.tar.xz"
"$root/.venv/bin/python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation py --platform any -d "$out/wheels" diffusers==0.42.1 importlib_metadata==8.7.0
ls -la "$out" "$out/wheels"
