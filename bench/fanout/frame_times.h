#pragma once
#include <array>
#include <atomic>
#include <cstdint>

// A time for each frame number, shared between the upstream thread (writer) and the
// viewer swarm (reader) without locks. A ring: a lookup for a frame older than the ring (over
// two minutes at 30 fps) finds another frame's tag and reports nothing.
namespace fanout {

class FrameTimes {
  public:
    static constexpr size_t kSlots = 4096;

    // Keeps the first send time of each frame (later resends of the same frame do not count).
    void record(uint32_t frame, int64_t ns) {
        Slot& s = slots_[frame % kSlots];
        if (s.frame.load(std::memory_order_relaxed) == tag(frame)) return;
        // Seqlock: the slot reads as empty while its time is being replaced.
        s.frame.store(0, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        s.ns.store(ns, std::memory_order_relaxed);
        s.frame.store(tag(frame), std::memory_order_release);
    }
    bool lookup(uint32_t frame, int64_t& ns) const {
        const Slot& s = slots_[frame % kSlots];
        if (s.frame.load(std::memory_order_acquire) != tag(frame)) return false;
        ns = s.ns.load(std::memory_order_relaxed);
        // The writer may have reused the slot meanwhile: check the tag again.
        std::atomic_thread_fence(std::memory_order_acquire);
        return s.frame.load(std::memory_order_relaxed) == tag(frame);
    }

  private:
    // 0 marks an empty slot, so frame numbers are stored off by one.
    static uint64_t tag(uint32_t frame) { return uint64_t{frame} + 1; }
    struct Slot {
        std::atomic<uint64_t> frame{0};
        std::atomic<int64_t> ns{0};
    };
    std::array<Slot, kSlots> slots_{};
};

// Both times of each frame: when the upstream drew it and when it first sent it. Latency counts
// from the send (what the reflector adds); age counts from the drawing (adding the time the
// frame waited for the reflector to ask for it, which a polling reflector makes long).
struct FrameClock {
    FrameTimes drawn, sent;
};

}  // namespace fanout
