#include "allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace slicewise {
namespace {

constexpr size_t kMinCached = 256 << 10;           // smaller blocks: malloc is fast and keeps them anyway
constexpr size_t kDefaultLimit = size_t{2} << 30;  // at most this much kept free

// Wraps libtorch's own CPU allocator (kept as `base`): small requests go straight to it; large blocks keep
// their base DataPtr here while in use and, once freed, in an exact-size free list.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) const override {
    if (bytes < kMinCached) return base->allocate(bytes);
    c10::DataPtr block;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        block = std::move(it->second.back());
        it->second.pop_back();
        cached_ -= bytes;
      }
    }
    if (!block) {
      try {
        block = base->allocate(bytes);
      } catch (const c10::Error&) {
        instance().release();            // out of memory: give the cache back and try once more,
        block = base->allocate(bytes);   // then let c10::Error reach the caller
      }
    }
    void* data = block.get();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(data, Live{std::move(block), bytes});
    }
    return {data, data, &recycleBlock, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &recycleBlock; }

  static CachingCpuAllocator& instance() {
    static CachingCpuAllocator allocator;
    return allocator;
  }

  size_t release() {
    std::unordered_map<size_t, std::vector<c10::DataPtr>> dropped;
    size_t released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released = cached_;
      dropped.swap(free_);
      cached_ = 0;
    }
    return released;  // `dropped` frees the blocks outside the lock
  }
  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

  c10::Allocator* base = nullptr;
  size_t limit = kDefaultLimit;

 private:
  struct Live {
    c10::DataPtr block;
    size_t bytes;
  };
  static void recycleBlock(void* p) { instance().recycle(p); }

  void recycle(void* p) {
    c10::DataPtr toFree;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) return;  // cannot happen: only our DataPtrs carry this deleter
    Live entry = std::move(it->second);
    live_.erase(it);
    if (cached_ + entry.bytes > limit) {
      toFree = std::move(entry.block);
      return;
    }
    cached_ += entry.bytes;
    free_[entry.bytes].push_back(std::move(entry.block));
  }

  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<c10::DataPtr>> free_;  // exact size → free blocks
  mutable std::unordered_map<void*, Live> live_;                         // blocks in use
  mutable size_t cached_ = 0;
};

}  // namespace

void installCachingAllocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* setting = std::getenv("SLICEWISE_CACHING_ALLOCATOR");
    if (setting && std::string(setting) == "0") return;
    CachingCpuAllocator& allocator = CachingCpuAllocator::instance();
    allocator.base = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
}

size_t releaseCachedMemory() { return CachingCpuAllocator::instance().release(); }
size_t cachedBytes() { return CachingCpuAllocator::instance().cached(); }

}  // namespace slicewise
