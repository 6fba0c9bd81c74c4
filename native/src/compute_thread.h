// Every engine job runs on one long-lived compute thread. libtorch's OpenMP team and our caching allocator
// belong to the thread that computes, and libuv hands successive jobs to whichever pool thread is free, so
// each job could start on a cold team and cache (measured: a 3D inference batch took 1.16 × PyTorch's time
// on rotating pool threads, 0.87 × with every job on one thread).
#pragma once

#include <functional>

namespace slicewise {

// Runs `work` on the compute thread and waits for it; an exception thrown by `work` is rethrown here.
void runOnComputeThread(const std::function<void()>& work);

}  // namespace slicewise
