// One AdamW step for every parameter with a gradient, through ATen's fused multi-tensor kernel
// (`at::_fused_adamw_`, what torch.optim.AdamW(fused=True) runs), on the state of a torch::optim::AdamW.
//
// LibTorch's AdamW::step updates one parameter at a time, about eight kernels each (by its source): for the
// adapter's parameter tensors (diffusers' ControlNetModel at SD 1.5 size alone has 340) that is thousands of
// launches per step, where diffusers' trainer (Python AdamW, foreach by default) launches a few dozen. The state stays the torch::optim::AdamW's (exp_avg, exp_avg_sq and
// step per parameter), so checkpoints (train/checkpoint.h) read and write it as before.
#pragma once

#include <torch/optim/adamw.h>

namespace stablepose {

// Same update as optimizer.step() (decoupled weight decay, bias correction, no AMSGrad), to float rounding;
// the options (lr, betas, eps, weight decay) are read from each parameter group. AMSGrad is refused.
void fused_adamw_step(torch::optim::AdamW& optimizer);

}  // namespace stablepose
