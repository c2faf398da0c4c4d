// chaos_support.h - forcing one interleaving with the chaos pipes.dll's test hook
// (PipesLib/chaos/pipes_chaos.h). pipes_chaos_tests links the chaos variant, which calls the
// installed hook at every named PIPES_CHAOS_POINT on the thread that reached it.
//
// - ChaosHook: installs a std::function as the hook for one scope and, on exit, removes it and
//   waits until no thread is still inside it.
// - PointHold: holds the first thread (or the first N) that reaches a named point until the test
//   releases it, or until a deadline: the test can then make other threads act in that window.
//   A hold that times out is not a failure by itself: it is how a test shows that the other side
//   waited for the held thread (the fixed behaviour) instead of racing past it.
#ifndef PIPES_CHAOS_SUPPORT_H
#define PIPES_CHAOS_SUPPORT_H

#include "test_support.h"

extern "C" __declspec(dllimport) void pipes_chaos_set_hook(void (*hook)(const char *where));

namespace pt {

class ChaosHook {
public:
    explicit ChaosHook(std::function<void(const char *)> fn)
    {
        Fn() = std::move(fn);
        pipes_chaos_set_hook(&Call);
    }
    ~ChaosHook()
    {
        pipes_chaos_set_hook(nullptr);
        while (Inside().load() != 0)
            std::this_thread::sleep_for(milliseconds(1));
        Fn() = nullptr;
    }
    ChaosHook(const ChaosHook &) = delete;
    ChaosHook &operator=(const ChaosHook &) = delete;

private:
    static std::function<void(const char *)> &Fn()
    {
        static std::function<void(const char *)> fn;
        return fn;
    }
    static std::atomic<int> &Inside()
    {
        static std::atomic<int> n{0};
        return n;
    }
    static void Call(const char *where)
    {
        Inside().fetch_add(1);
        if (Fn())
            Fn()(where);
        Inside().fetch_sub(1);
    }
};

class PointHold {
public:
    // Holds the first `times` arrivals at `point`, each for at most `limit`; with OnlyThread, only
    // arrivals on that thread count.
    explicit PointHold(std::string point, int times = 1, milliseconds limit = milliseconds(3000))
        : point_(std::move(point)), left_(times), limit_(limit)
    {
    }
    void OnlyThread(DWORD thread_id) { only_thread_.store(thread_id); }

    // Call from the hook.
    void OnPoint(const char *where)
    {
        if (point_ != where)
            return;
        DWORD only = only_thread_.load();
        if (only && only != GetCurrentThreadId())
            return;
        std::unique_lock<std::mutex> lock(m_);
        if (left_ <= 0)
            return;
        --left_;
        ++arrived_;
        held_thread_ = GetCurrentThreadId();
        cv_.notify_all();
        if (!cv_.wait_for(lock, limit_, [&] { return released_; }))
            ++timeouts_;
    }

    bool WaitArrived(int n = 1, milliseconds timeout = kWait)
    {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return arrived_ >= n; });
    }
    void Release()
    {
        std::lock_guard<std::mutex> lock(m_);
        released_ = true;
        cv_.notify_all();
    }
    int Timeouts()
    {
        std::lock_guard<std::mutex> lock(m_);
        return timeouts_;
    }
    DWORD HeldThread()
    {
        std::lock_guard<std::mutex> lock(m_);
        return held_thread_;
    }
    ~PointHold() { Release(); }

private:
    std::string point_;
    std::mutex m_;
    std::condition_variable cv_;
    int left_;
    int arrived_ = 0;
    int timeouts_ = 0;
    bool released_ = false;
    DWORD held_thread_ = 0;
    std::atomic<DWORD> only_thread_{0};
    milliseconds limit_;
};

} // namespace pt

#endif // PIPES_CHAOS_SUPPORT_H
