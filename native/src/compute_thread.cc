#include "compute_thread.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace slicewise {
namespace {

class ComputeThread {
 public:
  ComputeThread() {
    // Detached: it waits for work until the process ends and is never joined.
    std::thread([this] { loop(); }).detach();
  }

  std::future<void> submit(const std::function<void()>& work) {
    std::packaged_task<void()> task(work);
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
    return done;
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> tasks_;
};

ComputeThread& computeThread() {
  // Never destroyed: its thread may still be waiting on the queue while static destructors run at exit.
  static ComputeThread* thread = new ComputeThread();
  return *thread;
}

}  // namespace

void runOnComputeThread(const std::function<void()>& work) {
  computeThread().submit(work).get();
}

}  // namespace slicewise
