#!/usr/bin/env bash
# The main job on the embedded default. Until the toy world lands, the most complete end-to-end path:
# render the shipped example pose into exactly what the model is conditioned on (skeleton image and the
# coarse-to-fine pose masks at the latent grid, for sampling and for training).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${STABLEPOSE_BUILD_DIR:-$root/build}
out=${1:-$root/out/demo}
"$root/scripts/setup.sh"
pose=$root/assets/examples/two_people.json
"$build/stablepose" render "$pose" -o "$out/inference" --config "$root/configs/stable_pose_sd15.json"
"$build/stablepose" render "$pose" -o "$out/training" --config "$root/configs/stable_pose_sd15.json" --phase training
"$build/stablepose" render "$pose" -o "$out/wide_768x512" --size 768x512
echo
echo "Conditioning images written under $out:"
echo "  inference/skeleton.png       the skeleton image the adapter sees"
echo "  inference/mask_k23.png       coarse pose mask (PMSA ViT layer 0), at the latent grid"
echo "  inference/mask_k13.png       fine pose mask (ViT layer 1 and the loss weight), at the latent grid"
echo "  inference/masks_preview.png  both masks over the skeleton; joints.png marks every joint"
echo "  training/                    the same with the training threshold (> -1)"
echo "  wide_768x512/                a non-square size: keypoints scaled, masks on a 96x64 grid"
