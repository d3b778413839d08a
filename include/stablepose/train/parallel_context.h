// The seam between the training loop and data parallelism. The trainer calls these hooks at fixed points;
// the single-process default does nothing. A c10d implementation (train/distributed.h, one process per GPU,
// torchrun's RANK/WORLD_SIZE/LOCAL_RANK) derives from ParallelContext and is passed in TrainHooks::parallel.
//
// What the trainer guarantees, so that W ranks with batch B train exactly as one process with batch W*B:
//  - rank r reads the r-th slice of every global batch of the shared permutation (DataLoader);
//  - the timestep, noise and VAE-sampling generators draw for the whole global batch on every rank and each
//    rank takes its slice, so their states stay identical across ranks (rank 0's checkpoint holds them);
//  - each rank's loss is the mean over its own B samples, so averaging gradients gives the global mean.
// Call order per optimizer step (after grad_accum micro-batches, each backward()-ed):
//   synchronize_gradients(grads) -> [fp16: unscale, all_reduce_max(found_inf)] -> all_reduce_max(nonfinite)
//   -> clip -> optimizer.step(); all_reduce_mean(loss) for logging. Files are written only where
//   is_writer() (rank 0); barrier() follows each checkpoint.
#pragma once

#include <vector>

#include <torch/types.h>

namespace stablepose {

class ParallelContext {
public:
    virtual ~ParallelContext() = default;
    virtual int rank() const { return 0; }
    virtual int world_size() const { return 1; }
    bool is_writer() const { return rank() == 0; }
    // Every adapter gradient (defined, on the training device), after the last micro-batch's backward and
    // before unscaling, clipping and the optimizer step: replace each by its mean over the ranks, in place.
    virtual void synchronize_gradients(const std::vector<torch::Tensor>& grads) {}
    // In place over ranks: element-wise maximum (non-finite flags, fp16 found_inf) and mean (logged loss).
    virtual void all_reduce_max_(torch::Tensor& t) {}
    virtual void all_reduce_mean_(torch::Tensor& t) {}
    virtual void barrier() {}
};

}  // namespace stablepose
