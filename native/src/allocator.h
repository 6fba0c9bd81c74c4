// A caching CPU allocator for libtorch: large blocks freed by one training step are handed to the next
// step's identical requests instead of going back to the system. glibc returns big blocks to the kernel
// on free (mmap / heap trimming), so each step otherwise page-faults, and the kernel re-zeroes, all of its
// activation memory: measured here, 80–150 thousand page faults and 10–20% of a step.
#pragma once
#include <cstddef>

namespace slicewise {

/** Installs the caching allocator as libtorch's CPU allocator (once; SLICEWISE_CACHING_ALLOCATOR=0 skips). */
void installCachingAllocator();
/** Frees every cached block; returns the bytes released. */
size_t releaseCachedMemory();
/** Bytes currently cached (free, kept for reuse). */
size_t cachedBytes();

}  // namespace slicewise
