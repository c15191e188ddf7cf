#include "reflector/input_arbiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace rfbcast {
namespace {

using std::chrono::hours;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint64_t kA = 1, kB = 2, kC = 3;
constexpr uint32_t kShiftL = 0xffe1, kControlL = 0xffe3, kKeyA = 0x61, kKeyUpperA = 0x41,
                   kKeyX = 0x78;
const Clock::time_point T0 = Clock::time_point{} + hours(1);

using Events = std::vector<InputEvent>;

InputEvent key_up(uint32_t keysym, uint32_t keycode = 0) {
    return InputEvent::key(false, keysym, keycode);
}
InputEvent buttons_up(uint16_t x, uint16_t y) {
    return InputEvent::pointer(0, x, y);
}

InputDecision key(InputArbiter& a, uint64_t v, bool down, uint32_t keysym,
                  Clock::time_point now = T0, bool control = true) {
    return a.on_key(v, control, down, keysym, 0, now);
}
InputDecision ptr(InputArbiter& a, uint64_t v, uint8_t buttons, uint16_t x, uint16_t y,
                  Clock::time_point now = T0, bool control = true) {
    return a.on_pointer(v, control, buttons, x, y, now);
}

TEST(InputArbiter, ViewOnlyNeverPassesUnderAnyPolicy) {
    for (auto policy : {InputPolicy::kFirst, InputPolicy::kLastWins, InputPolicy::kShared}) {
        InputArbiter a(policy, ClipboardPolicy::kBoth, seconds(10));
        auto k = key(a, kA, true, kKeyA, T0, /*control=*/false);
        EXPECT_FALSE(k.forward);
        EXPECT_TRUE(k.releases.empty());
        auto p = ptr(a, kA, 1, 10, 10, T0, /*control=*/false);
        EXPECT_FALSE(p.forward);
        EXPECT_FALSE(a.may_send_clipboard(kA, /*control=*/false, T0));
        EXPECT_FALSE(a.holder().has_value()) << to_string(policy);
        EXPECT_EQ(a.stats().dropped_view_only, 2u);
        EXPECT_EQ(a.stats().forwarded, 0u);
        // Nothing it sent was tracked: a control viewer taking over releases nothing.
        auto c = ptr(a, kB, 0, 1, 1);
        EXPECT_TRUE(c.forward);
        EXPECT_TRUE(c.releases.empty());
    }
}

TEST(InputArbiter, SharedPassesEveryControlViewer) {
    InputArbiter a(InputPolicy::kShared, ClipboardPolicy::kBoth, seconds(10));
    EXPECT_TRUE(ptr(a, kA, 1, 5, 5).forward);
    EXPECT_TRUE(key(a, kB, true, kKeyA).forward);
    EXPECT_TRUE(ptr(a, kC, 0, 7, 7).forward);
    EXPECT_TRUE(key(a, kA, true, kKeyX).forward);
    EXPECT_TRUE(key(a, kB, false, kKeyA).forward);
    EXPECT_FALSE(a.holder().has_value());
    EXPECT_EQ(a.stats().forwarded, 5u);
    EXPECT_EQ(a.stats().dropped_not_holder, 0u);
    EXPECT_EQ(a.stats().holder_changes, 0u);
}

TEST(InputArbiter, FirstSenderHoldsAndOthersAreDropped) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(10));
    EXPECT_FALSE(a.holder().has_value());
    EXPECT_TRUE(ptr(a, kA, 0, 10, 10).forward);
    EXPECT_EQ(a.holder(), kA);
    EXPECT_FALSE(key(a, kB, true, kKeyA, T0 + seconds(1)).forward);
    EXPECT_FALSE(ptr(a, kB, 1, 3, 3, T0 + seconds(2)).forward);
    EXPECT_TRUE(key(a, kA, true, kKeyX, T0 + seconds(3)).forward);
    EXPECT_EQ(a.holder(), kA);
    EXPECT_EQ(a.stats().dropped_not_holder, 2u);
    EXPECT_EQ(a.stats().forwarded, 2u);
    EXPECT_EQ(a.stats().holder_changes, 1u);
    // B's key-down was dropped, so its key-up has nothing to release: dropped as stale.
    EXPECT_FALSE(key(a, kB, false, kKeyA, T0 + seconds(4)).forward);
    EXPECT_EQ(a.stats().dropped_stale_key_up, 1u);
}

TEST(InputArbiter, FirstHoldIsFreeExactlyAtTheIdleTimeout) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(ptr(a, kA, 0, 10, 10, T0).forward);
    // A dropped event does not refresh anyone's activity.
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + seconds(10) - nanoseconds(1)).forward);
    EXPECT_EQ(a.holder(), kA);
    auto d = ptr(a, kB, 0, 1, 1, T0 + seconds(10));
    EXPECT_TRUE(d.forward);
    EXPECT_EQ(a.holder(), kB);
    // Now A is the one kept out.
    EXPECT_FALSE(ptr(a, kA, 0, 2, 2, T0 + seconds(11)).forward);
}

TEST(InputArbiter, FirstHoldersOwnInputRestartsTheIdleClock) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(ptr(a, kA, 0, 10, 10, T0).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyA, T0 + seconds(5)).forward);
    ASSERT_TRUE(key(a, kA, false, kKeyA, T0 + seconds(6)).forward);
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + seconds(10)).forward);
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + seconds(16) - nanoseconds(1)).forward);
    EXPECT_TRUE(ptr(a, kB, 0, 1, 1, T0 + seconds(16)).forward);
    EXPECT_EQ(a.holder(), kB);
}

TEST(InputArbiter, FirstIdleHolderKeepsInputUntilSomeoneTakesIt) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(ptr(a, kA, 0, 10, 10, T0).forward);
    EXPECT_TRUE(ptr(a, kA, 0, 11, 11, T0 + seconds(60)).forward);
    EXPECT_EQ(a.holder(), kA);
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + seconds(61)).forward);
}

TEST(InputArbiter, FirstWithZeroTimeoutNeverReleasesByIdleness) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(ptr(a, kA, 0, 10, 10, T0).forward);
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + hours(24 * 365)).forward);
    EXPECT_EQ(a.holder(), kA);
}

TEST(InputArbiter, HolderDisconnectReleasesItsKeysAndButtonsAndFreesTheHold) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    ASSERT_TRUE(ptr(a, kA, 0b101, 300, 400).forward);
    EXPECT_EQ(a.on_viewer_gone(kA), (Events{buttons_up(300, 400), key_up(kShiftL)}));
    EXPECT_FALSE(a.holder().has_value());
    auto d = ptr(a, kB, 0, 1, 1);
    EXPECT_TRUE(d.forward);
    EXPECT_TRUE(d.releases.empty());
    EXPECT_EQ(a.holder(), kB);
    // Leaving twice, or a viewer never seen, releases nothing.
    EXPECT_TRUE(a.on_viewer_gone(kA).empty());
    EXPECT_TRUE(a.on_viewer_gone(kC).empty());
}

TEST(InputArbiter, NonHolderDisconnectChangesNothing) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(ptr(a, kA, 1, 10, 10).forward);
    ASSERT_FALSE(key(a, kB, true, kKeyA).forward);
    EXPECT_TRUE(a.on_viewer_gone(kB).empty());
    EXPECT_EQ(a.holder(), kA);
}

TEST(InputArbiter, LastWinsTakesTheHoldAtOnce) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    EXPECT_TRUE(ptr(a, kA, 0, 10, 10, T0).forward);
    EXPECT_EQ(a.holder(), kA);
    EXPECT_TRUE(key(a, kB, true, kKeyA, T0 + nanoseconds(1)).forward);
    EXPECT_EQ(a.holder(), kB);
    EXPECT_TRUE(ptr(a, kA, 0, 11, 11, T0 + nanoseconds(2)).forward);
    EXPECT_EQ(a.holder(), kA);
    EXPECT_EQ(a.stats().holder_changes, 3u);
    EXPECT_EQ(a.stats().dropped_not_holder, 0u);
}

TEST(InputArbiter, HandoverReleasesButtonsThenKeysNewestFirst) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    ASSERT_TRUE(key(a, kA, true, kControlL).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyA).forward);
    ASSERT_TRUE(ptr(a, kA, 0b001, 100, 200).forward);
    ASSERT_TRUE(ptr(a, kA, 0b011, 120, 210).forward);

    auto d = ptr(a, kB, 0, 5, 5);
    EXPECT_TRUE(d.forward);
    EXPECT_EQ(d.releases,
              (Events{buttons_up(120, 210), key_up(kKeyA), key_up(kControlL), key_up(kShiftL)}));
    // A letting go of a key already released for it neither reaches the server nor takes the
    // hold back.
    auto up = key(a, kA, false, kShiftL);
    EXPECT_FALSE(up.forward);
    EXPECT_TRUE(up.releases.empty());
    EXPECT_EQ(a.holder(), kB);
    EXPECT_EQ(a.stats().dropped_stale_key_up, 1u);
    // Handing back: B left nothing down, so nothing is released.
    auto back = key(a, kA, true, kKeyX);
    EXPECT_TRUE(back.forward);
    EXPECT_TRUE(back.releases.empty());
}

TEST(InputArbiter, KeysReleasedByTheirOwnerAreNotReleasedAgain) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(key(a, kA, true, kKeyA).forward);
    ASSERT_TRUE(key(a, kA, false, kKeyA).forward);
    ASSERT_TRUE(ptr(a, kA, 1, 10, 10).forward);
    ASSERT_TRUE(ptr(a, kA, 0, 10, 10).forward);
    auto d = key(a, kB, true, kKeyX);
    EXPECT_TRUE(d.forward);
    EXPECT_TRUE(d.releases.empty());
}

TEST(InputArbiter, FirstHandoverAfterIdleReleasesTheIdleHoldersKeys) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(30));
    ASSERT_TRUE(key(a, kA, true, kShiftL, T0).forward);
    ASSERT_TRUE(ptr(a, kA, 0b100, 50, 60, T0).forward);
    auto d = key(a, kB, true, kKeyX, T0 + seconds(30));
    EXPECT_TRUE(d.forward);
    EXPECT_EQ(d.releases, (Events{buttons_up(50, 60), key_up(kShiftL)}));
    EXPECT_EQ(a.holder(), kB);
}

TEST(InputArbiter, QemuKeysAreMatchedByKeycodeAndReleasedWithIt) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    // Pressed as 'a', let go as 'A' (shift went down in between): same physical key 30.
    ASSERT_TRUE(a.on_key(kA, true, true, kKeyA, 30, T0).forward);
    ASSERT_TRUE(a.on_key(kA, true, false, kKeyUpperA, 30, T0).forward);
    ASSERT_TRUE(a.on_key(kA, true, true, kKeyA, 30, T0).forward);
    ASSERT_TRUE(a.on_key(kA, true, true, kShiftL, 42, T0).forward);
    auto d = ptr(a, kB, 0, 1, 1);
    EXPECT_EQ(d.releases, (Events{key_up(kShiftL, 42), key_up(kKeyA, 30)}));
}

TEST(InputArbiter, AutoRepeatedKeyIsReleasedOnce) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyX).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyX).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyX).forward);
    auto d = ptr(a, kB, 0, 1, 1);
    EXPECT_EQ(d.releases, (Events{key_up(kKeyX), key_up(kShiftL)}));
}

TEST(InputArbiter, HeldKeysAreCappedByReleasingTheOldest) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_EQ(InputArbiter::kMaxHeldKeys, 64u);
    for (uint32_t i = 0; i < 64; ++i) {
        auto d = key(a, kA, true, 0x100 + i);
        ASSERT_TRUE(d.forward);
        ASSERT_TRUE(d.releases.empty()) << i;
    }
    auto d65 = key(a, kA, true, 0x200);
    EXPECT_TRUE(d65.forward);
    EXPECT_EQ(d65.releases, (Events{key_up(0x100)}));
    EXPECT_EQ(a.stats().keys_evicted, 1u);
    // The evicted key's own key-up is stale now.
    EXPECT_FALSE(key(a, kA, false, 0x100).forward);

    auto d = ptr(a, kB, 0, 1, 1);
    Events expected{key_up(0x200)};
    for (uint32_t i = 63; i >= 1; --i)
        expected.push_back(key_up(0x100 + i));
    EXPECT_EQ(d.releases, expected);
}

TEST(InputArbiter, SharedViewerGoneKeepsKeysOthersHoldAndOnlyItsOwnButtons) {
    InputArbiter a(InputPolicy::kShared, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    ASSERT_TRUE(key(a, kB, true, kShiftL).forward);
    ASSERT_TRUE(key(a, kA, true, kKeyX).forward);
    ASSERT_TRUE(ptr(a, kA, 1, 10, 20).forward);
    // B moved the pointer last, with no buttons: the server has none down for A to release.
    ASSERT_TRUE(ptr(a, kB, 0, 30, 40).forward);
    EXPECT_EQ(a.on_viewer_gone(kA), (Events{key_up(kKeyX)}));
    ASSERT_TRUE(ptr(a, kB, 4, 31, 41).forward);
    EXPECT_EQ(a.on_viewer_gone(kB), (Events{buttons_up(31, 41), key_up(kShiftL)}));
}

TEST(InputArbiter, ViewerThatLosesControlAccessReleasesWhatItHeld) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(key(a, kA, true, kControlL).forward);
    ASSERT_TRUE(ptr(a, kA, 2, 8, 9).forward);
    auto d = key(a, kA, true, kKeyX, T0, /*control=*/false);
    EXPECT_FALSE(d.forward);
    EXPECT_EQ(d.releases, (Events{buttons_up(8, 9), key_up(kControlL)}));
    EXPECT_FALSE(a.holder().has_value());
    EXPECT_TRUE(ptr(a, kB, 0, 1, 1).forward);
}

TEST(InputArbiter, ResetServerStateForgetsHeldKeysWithoutReleasingThem) {
    InputArbiter a(InputPolicy::kLastWins, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    ASSERT_TRUE(ptr(a, kA, 1, 10, 10).forward);
    a.reset_server_state();
    EXPECT_EQ(a.holder(), kA);
    EXPECT_FALSE(key(a, kA, false, kShiftL).forward);
    auto d = ptr(a, kB, 0, 1, 1);
    EXPECT_TRUE(d.forward);
    EXPECT_TRUE(d.releases.empty());
}

TEST(InputArbiter, ClipboardToServerMatrix) {
    struct Row {
        ClipboardPolicy clipboard;
        bool to_server;
    };
    const Row rows[] = {{ClipboardPolicy::kBoth, true},
                        {ClipboardPolicy::kToServer, true},
                        {ClipboardPolicy::kToViewers, false},
                        {ClipboardPolicy::kOff, false}};
    for (const Row& r : rows) {
        SCOPED_TRACE(to_string(r.clipboard));
        InputArbiter first(InputPolicy::kFirst, r.clipboard, seconds(10));
        ASSERT_TRUE(ptr(first, kA, 0, 1, 1, T0).forward);
        EXPECT_EQ(first.may_send_clipboard(kA, true, T0), r.to_server);  // the holder
        EXPECT_FALSE(first.may_send_clipboard(kB, true, T0));            // kept out
        EXPECT_FALSE(first.may_send_clipboard(kA, false, T0));           // view-only
        EXPECT_EQ(first.may_send_clipboard(kB, true, T0 + seconds(10)),  // holder idle
                  r.to_server);
        // Asking does not take the hold.
        EXPECT_EQ(first.holder(), kA);

        InputArbiter fresh(InputPolicy::kFirst, r.clipboard, seconds(10));
        EXPECT_EQ(fresh.may_send_clipboard(kB, true, T0), r.to_server);  // nobody holds
        EXPECT_FALSE(fresh.holder().has_value());

        for (auto policy : {InputPolicy::kLastWins, InputPolicy::kShared}) {
            InputArbiter a(policy, r.clipboard, seconds(10));
            ASSERT_TRUE(ptr(a, kA, 0, 1, 1, T0).forward);
            EXPECT_EQ(a.may_send_clipboard(kB, true, T0), r.to_server) << to_string(policy);
            EXPECT_FALSE(a.may_send_clipboard(kB, false, T0)) << to_string(policy);
        }
    }
}

TEST(InputArbiter, ClipboardToViewersMatrix) {
    struct Row {
        ClipboardPolicy clipboard;
        bool control, view_only;
    };
    const Row rows[] = {{ClipboardPolicy::kBoth, true, false},
                        {ClipboardPolicy::kToViewers, true, false},
                        {ClipboardPolicy::kToServer, false, false},
                        {ClipboardPolicy::kOff, false, false}};
    for (const Row& r : rows) {
        for (auto policy : {InputPolicy::kFirst, InputPolicy::kLastWins, InputPolicy::kShared}) {
            InputArbiter a(policy, r.clipboard, seconds(10));
            EXPECT_EQ(a.receives_clipboard(true), r.control) << to_string(r.clipboard);
            EXPECT_EQ(a.receives_clipboard(false), r.view_only) << to_string(r.clipboard);
        }
    }
}

TEST(InputArbiter, ClipboardCountersCountEachAnswer) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(10));
    ASSERT_TRUE(ptr(a, kA, 0, 1, 1).forward);
    EXPECT_TRUE(a.may_send_clipboard(kA, true, T0));
    EXPECT_FALSE(a.may_send_clipboard(kB, true, T0));
    EXPECT_FALSE(a.may_send_clipboard(kC, false, T0));
    EXPECT_EQ(a.stats().clipboard_forwarded, 1u);
    EXPECT_EQ(a.stats().clipboard_dropped, 2u);
}

TEST(InputArbiter, ReloadFirstToLastWinsKeepsTheHolder) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    a.set_policy(InputPolicy::kLastWins, ClipboardPolicy::kBoth, Clock::duration::zero());
    EXPECT_EQ(a.holder(), kA);
    auto d = ptr(a, kB, 0, 1, 1);
    EXPECT_TRUE(d.forward);
    EXPECT_EQ(d.releases, (Events{key_up(kShiftL)}));
    EXPECT_EQ(a.holder(), kB);
    // And back to kFirst: B keeps it, A is kept out.
    a.set_policy(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    EXPECT_EQ(a.holder(), kB);
    EXPECT_FALSE(ptr(a, kA, 0, 1, 1).forward);
}

TEST(InputArbiter, ReloadShorterIdleTimeoutAppliesToTheCurrentHold) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(60));
    ASSERT_TRUE(ptr(a, kA, 0, 1, 1, T0).forward);
    EXPECT_FALSE(ptr(a, kB, 0, 1, 1, T0 + seconds(5)).forward);
    a.set_policy(InputPolicy::kFirst, ClipboardPolicy::kBoth, seconds(5));
    EXPECT_TRUE(ptr(a, kB, 0, 1, 1, T0 + seconds(5)).forward);
    EXPECT_EQ(a.holder(), kB);
}

TEST(InputArbiter, ReloadToSharedClearsTheHoldAndBackReleasesOthersOnTake) {
    InputArbiter a(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    ASSERT_TRUE(key(a, kA, true, kShiftL).forward);
    a.set_policy(InputPolicy::kShared, ClipboardPolicy::kBoth, Clock::duration::zero());
    EXPECT_FALSE(a.holder().has_value());
    // Shared: B passes and A's shift stays down (A may still be using it).
    auto b = key(a, kB, true, kControlL);
    EXPECT_TRUE(b.forward);
    EXPECT_TRUE(b.releases.empty());
    ASSERT_TRUE(ptr(a, kC, 1, 7, 8).forward);

    a.set_policy(InputPolicy::kFirst, ClipboardPolicy::kBoth, Clock::duration::zero());
    EXPECT_FALSE(a.holder().has_value());
    // Whoever sends first takes it, and everything the others left down comes up.
    auto d = key(a, kB, true, kKeyX);
    EXPECT_TRUE(d.forward);
    EXPECT_EQ(d.releases, (Events{buttons_up(7, 8), key_up(kShiftL)}));
    EXPECT_EQ(a.holder(), kB);
    EXPECT_FALSE(key(a, kA, true, kKeyA).forward);
    EXPECT_EQ(a.on_viewer_gone(kB), (Events{key_up(kKeyX), key_up(kControlL)}));
}

TEST(InputArbiter, ReloadChangesTheClipboardPolicy) {
    InputArbiter a(InputPolicy::kShared, ClipboardPolicy::kBoth, seconds(10));
    EXPECT_TRUE(a.may_send_clipboard(kA, true, T0));
    EXPECT_TRUE(a.receives_clipboard(true));
    a.set_policy(InputPolicy::kShared, ClipboardPolicy::kOff, seconds(10));
    EXPECT_FALSE(a.may_send_clipboard(kA, true, T0));
    EXPECT_FALSE(a.receives_clipboard(true));
    EXPECT_EQ(a.clipboard_policy(), ClipboardPolicy::kOff);
}

}  // namespace
}  // namespace rfbcast
