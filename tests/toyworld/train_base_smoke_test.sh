#!/usr/bin/env bash
# scripts/toyworld/train_base.py end to end at a tiny budget (16 images, 2 steps per stage): every stage runs,
# including the decoder-only fine-tuning, the folder loads in the C++ sampler, recipe.json records each stage's
# history, a second run reuses the cached VAE stage, and the prompt-colour test (base_model_test.py) rejects
# the barely trained model, as it must.
#   usage: train_base_smoke_test.sh ROOT BUILD_DIR WORK_DIR PYTHON
set -u
root=$1 build=$2 work=$3 python=$4
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }
train() {  # OUT
  "$python" "$root/scripts/toyworld/train_base.py" --out "$1" --work "$work/work" --stablepose "$build/stablepose" \
    --count 16 --vae-steps 2 --vae-batch 2 --decoder-steps 3 --decoder-batch 2 --unet-steps 2 --unet-batch 2 \
    --log-every 1 --no-samples
}
train "$work/model" > "$work/train.log" 2>&1
check "train_base.py runs every stage and exports" "[ $? -eq 0 ] && [ -s '$work/model/model.json' ] && [ -s '$work/model/unet.pt' ] || { tail -30 '$work/train.log'; false; }"
check "recipe.json: the VAE, decoder and U-Net histories, the decoder stage's objective" "'$python' -c \"
import json
r = json.load(open('$work/model/recipe.json'))
h = r['history']
assert [x['step'] for x in h['vae']] == [1, 2], h['vae']
assert [x['step'] for x in h['decoder']] == [1, 2, 3], h['decoder']
assert [x['step'] for x in h['unet']] == [1, 2], h['unet']
assert 'encoder frozen' in r['objective']['decoder'] and r['args']['decoder_steps'] == 3
assert r['vae_from_cache'] is False
\""
check "the log names the decoder stage" "grep -q 'decoder step 3/3' '$work/model/training_log.txt' && grep -q 'decoder fine-tuned: recon L1' '$work/model/training_log.txt'"
train "$work/model2" > "$work/train2.log" 2>&1
check "a second run reuses the cached VAE stage and still fine-tunes the decoder" \
  "[ $? -eq 0 ] && grep -q 'VAE and latents loaded from' '$work/model2/training_log.txt' && grep -q 'decoder step 3/3' '$work/model2/training_log.txt'"
"$python" "$root/tests/toyworld/base_model_test.py" "$build/stablepose" "$work/model" "$work/colour" > "$work/colour.log" 2>&1
check "the prompt-colour test rejects the barely trained model" \
  "[ $? -ne 0 ] && grep -q 'do not follow the prompts' '$work/colour.log' || { cat '$work/colour.log'; false; }"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
